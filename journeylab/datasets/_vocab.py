"""Vocabularies of the synthetic datasets: names, cities, catalogues, traffic sources.

Everything is fictional; domains use the reserved ``.example`` top-level domain.
"""

from __future__ import annotations

INDIAN_FIRST_NAMES = (
    "Aarav", "Aditi", "Aditya", "Akash", "Amit", "Ananya", "Anjali", "Arjun", "Aryan", "Avni",
    "Deepak", "Diya", "Divya", "Gaurav", "Ishaan", "Isha", "Kabir", "Kavya", "Krishna", "Lakshmi",
    "Manish", "Meera", "Mohit", "Neha", "Nikhil", "Nisha", "Pooja", "Pranav", "Priya", "Rahul",
    "Rajesh", "Riya", "Rohan", "Sai", "Sakshi", "Sanjay", "Shreya", "Siddharth", "Sneha", "Suresh",
    "Tanvi", "Varun", "Vikram", "Vivek", "Yash", "Zoya", "Farhan", "Ayesha", "Harpreet", "Gurpreet",
    "Karthik", "Lavanya", "Naveen", "Keerthi", "Abhishek", "Swati", "Ritu", "Sunil", "Anil", "Madhuri",
)  # fmt: skip

INDIAN_CITIES = (
    ("Mumbai", 0.15), ("Delhi", 0.14), ("Bengaluru", 0.14), ("Hyderabad", 0.09), ("Chennai", 0.08),
    ("Kolkata", 0.07), ("Pune", 0.07), ("Ahmedabad", 0.05), ("Jaipur", 0.04), ("Lucknow", 0.04),
    ("Kochi", 0.03), ("Chandigarh", 0.03), ("Indore", 0.03), ("Surat", 0.02), ("Bhopal", 0.02),
)  # fmt: skip

UK_FIRST_NAMES = (
    "Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Mia", "Jack", "Ivy",
    "Leo", "Lily", "Arthur", "Isabella", "Muhammad", "Rosie", "Oscar", "Sophia", "Charlie", "Grace",
    "Jacob", "Freya", "Thomas", "Florence", "Henry", "Willow", "William", "Evie", "James", "Poppy",
    "Alfie", "Emily", "Theo", "Ella", "Joshua", "Sienna", "Freddie", "Daisy", "Archie", "Chloe",
    "Priya", "Aisha", "Mohammed", "Zara", "Connor", "Megan", "Callum", "Niamh", "Ewan", "Eilidh",
)  # fmt: skip

UK_CITIES = (
    ("London", 0.46), ("Manchester", 0.13), ("Birmingham", 0.11), ("Leeds", 0.07), ("Glasgow", 0.07),
    ("Bristol", 0.06), ("Edinburgh", 0.05), ("Liverpool", 0.05),
)  # fmt: skip

US_FIRST_NAMES = (
    "Liam", "Olivia", "Noah", "Emma", "Oliver", "Charlotte", "James", "Amelia", "Elijah", "Sophia",
    "Mateo", "Mia", "Lucas", "Isabella", "Levi", "Ava", "Ethan", "Evelyn", "Sebastian", "Luna",
    "Henry", "Harper", "Jack", "Camila", "Michael", "Sofia", "Daniel", "Scarlett", "Owen", "Elizabeth",
    "Jackson", "Eleanor", "Aiden", "Emily", "Samuel", "Chloe", "Wyatt", "Mila", "Grayson", "Aria",
    "Jose", "Maria", "David", "Jennifer", "Wei", "Priya", "Malik", "Aaliyah", "Carlos", "Gabriela",
)  # fmt: skip

US_CITIES = (
    ("New York", 0.14), ("Los Angeles", 0.10), ("Chicago", 0.07), ("Houston", 0.06), ("Phoenix", 0.05),
    ("Philadelphia", 0.05), ("San Antonio", 0.04), ("San Diego", 0.04), ("Dallas", 0.05), ("Austin", 0.04),
    ("Seattle", 0.05), ("Denver", 0.04), ("Boston", 0.05), ("Atlanta", 0.05), ("Miami", 0.05),
    ("Minneapolis", 0.03), ("Portland", 0.03), ("Nashville", 0.02),
)  # fmt: skip

# ---------------------------------------------------------------- e-commerce catalogue (INR)
SHOP_HOST = "https://www.kartly.example"

#: category slug -> (display name, [(item name, price in INR), ...])
SHOP_CATALOGUE = {
    "electronics": ("Electronics", [
        ("Wireless Earbuds X2", 1799.0), ("Smartphone Nova 5G", 17999.0), ("Power Bank 20000mAh", 1299.0),
        ("Smart Watch Pulse", 2999.0), ("Bluetooth Speaker Mini", 1499.0), ("USB-C Charger 33W", 699.0),
        ("Laptop Sleeve 15in", 549.0), ("Noise Cancelling Headphones", 5999.0), ("Fitness Band 4", 1999.0),
        ("Tablet Tab 10", 13499.0),
    ]),
    "fashion": ("Fashion", [
        ("Cotton Kurta", 899.0), ("Denim Jeans Slim", 1299.0), ("Running Shoes Aero", 2499.0),
        ("Silk Saree", 3499.0), ("Linen Shirt", 1099.0), ("Festive Lehenga", 5999.0),
        ("Sneakers Street", 1899.0), ("Leather Wallet", 599.0), ("Sunglasses Classic", 799.0),
        ("Printed T-Shirt", 399.0),
    ]),
    "home-kitchen": ("Home & Kitchen", [
        ("Non-stick Tawa", 749.0), ("Pressure Cooker 5L", 1999.0), ("Mixer Grinder 750W", 3299.0),
        ("Bedsheet Set Double", 1199.0), ("Diya Set of 12", 299.0), ("Air Fryer 4L", 4999.0),
        ("Water Purifier RO", 8999.0), ("Steel Lunch Box", 449.0), ("LED String Lights", 349.0),
        ("Ceramic Dinner Set", 2499.0),
    ]),
    "beauty": ("Beauty", [
        ("Vitamin C Serum", 599.0), ("Herbal Shampoo", 299.0), ("Sunscreen SPF 50", 449.0),
        ("Kajal Pencil", 199.0), ("Beard Trimmer", 1499.0), ("Perfume Oud", 1299.0),
        ("Face Wash Neem", 179.0), ("Hair Dryer", 1099.0),
    ]),
    "books": ("Books", [
        ("The Monsoon Detective", 399.0), ("Learn Python in 30 Days", 599.0), ("Stories from Malgudi", 249.0),
        ("Cricket Legends", 499.0), ("Mindful Money", 349.0), ("Children's Panchatantra", 199.0),
    ]),
    "grocery": ("Grocery", [
        ("Basmati Rice 5kg", 649.0), ("Dry Fruits Gift Box", 999.0), ("Masala Chai 500g", 249.0),
        ("Ghee 1L", 599.0), ("Sweets Assortment 1kg", 799.0), ("Cold-pressed Oil 1L", 349.0),
    ]),
    "sports": ("Sports", [
        ("Cricket Bat English Willow", 3999.0), ("Yoga Mat 6mm", 699.0), ("Football Size 5", 599.0),
        ("Badminton Racket Pair", 1299.0), ("Dumbbells 2x5kg", 1499.0), ("Cycling Helmet", 1199.0),
    ]),
}  # fmt: skip

#: search terms and the category slug they lead to
SHOP_SEARCHES = (
    ("earbuds", "electronics"), ("smartphone", "electronics"), ("smart watch", "electronics"),
    ("power bank", "electronics"), ("kurta", "fashion"), ("saree", "fashion"), ("running shoes", "fashion"),
    ("diwali lights", "home-kitchen"), ("air fryer", "home-kitchen"), ("pressure cooker", "home-kitchen"),
    ("serum", "beauty"), ("sunscreen", "beauty"), ("trimmer", "beauty"), ("novel", "books"),
    ("dry fruits", "grocery"), ("ghee", "grocery"), ("cricket bat", "sports"), ("yoga mat", "sports"),
)  # fmt: skip

#: utm_source -> HTTP referrer of the first page view of a session (None: no referrer)
TRAFFIC_REFERRERS = {
    "google": "https://www.google.com/",
    "facebook": "https://m.facebook.com/",
    "twitter": "https://t.co/",
    "newsletter": "https://mail.google.com/",
    "direct": None,
}
UTM_SOURCES = tuple(TRAFFIC_REFERRERS)


def slug(text: str) -> str:
    """URL slug of an item name.

    >>> slug("Children's Panchatantra")
    'childrens-panchatantra'
    """
    out = "".join(c.lower() if c.isalnum() else " " if c in " -&/" else "" for c in text)
    return "-".join(out.split())


# ---------------------------------------------------------------- streaming catalogue
STREAM_HOST = "https://www.streamly.example"

#: (title, genre, episode minutes, seasons, weekday of new episodes 0=Mon)
SHOWS = (
    ("Harbor Lights", "Drama", 52, 3, 6), ("The Quiet Orbit", "Sci-Fi", 47, 2, 4), ("Kitchen Rivals", "Reality", 42, 6, 2),
    ("Midnight Ledger", "Thriller", 49, 2, 3), ("Paws & Claws", "Kids", 22, 4, 5), ("Laugh Track", "Comedy", 24, 5, 0),
    ("Desert Signal", "Sci-Fi", 55, 1, 6), ("Maple Street", "Comedy", 22, 7, 1), ("Cold Trails: Ohio", "Crime", 44, 4, 2),
    ("The Long Table", "Drama", 58, 2, 0), ("Wild Coasts", "Documentary", 50, 2, 6), ("Pixel Knights", "Animation", 25, 3, 5),
    ("Courtside", "Sports", 40, 2, 4), ("Second Chances", "Romance", 45, 3, 3), ("The Vault", "Thriller", 51, 1, 4),
    ("Tiny Builders", "Kids", 12, 5, 5), ("Late Night Lab", "Comedy", 30, 9, 0), ("Northern Frontier", "Western", 54, 2, 6),
    ("Deep Blue Rescue", "Documentary", 48, 1, 1), ("Ghost Road", "Action", 46, 2, 3), ("Bake It Big", "Reality", 43, 4, 1),
    ("The Profiler's Daughter", "Crime", 44, 3, 2), ("Starlight Academy", "Animation", 23, 2, 5), ("Empire of Salt", "History", 57, 1, 6),
    ("Roommates", "Comedy", 21, 6, 1), ("The Deep End", "Drama", 50, 2, 3), ("Hidden Kitchens", "Documentary", 35, 3, 2),
    ("Blackout", "Thriller", 48, 1, 4), ("Fast Lane", "Sports", 42, 3, 6), ("Love Online", "Romance", 38, 2, 0),
)  # fmt: skip
