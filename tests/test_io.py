"""The JSON format: lossless round trip, the shipped JSON Schema, the example files, and fuzzing
(malformed input always gives JourneyDefinitionError with a path, never anything else)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import journeylab.examples as ex
from journeylab.errors import JourneyDefinitionError
from journeylab.examples import EXAMPLES, random_journeys
from journeylab.model import (
    NODE_KINDS,
    Action,
    Journey,
    JourneyDef,
    Position,
    Push,
    from_dict,
    from_json,
    json_schema,
    load,
    save,
    to_dict,
    to_json,
)
from journeylab.model.io import SCHEMA_FILE, _generate_schema
from journeylab.validate import CODES, validate

REPO = Path(__file__).resolve().parent.parent
PKG_EXAMPLES = Path(ex.__file__).parent
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------ round trip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_journeys())
def test_round_trip_is_lossless(d):
    text = to_json(d)
    back = from_json(text)
    assert back == d
    assert to_json(back) == text  # stable: the same definition always writes the same text
    assert from_dict(to_dict(d)) == d
    assert from_dict(json.loads(text)) == d


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_journeys())
def test_random_journeys_match_the_schema(d):
    jsonschema.Draft202012Validator(json_schema()).validate(json.loads(to_json(d)))


def test_journey_round_trip_through_files(tmp_path):
    j = ex.reference_journey()
    j.move("push", 120.5, -40)
    p = save(j.definition, tmp_path / "ref.json")
    back = load(p)
    assert back == j.definition
    assert back.node("push").position == Position(x=120.5, y=-40.0)
    assert Journey.from_json(j.to_json()).definition == j.definition


def test_positions_travel_in_the_json():
    j = Journey("x", id="x")
    j.add(Action(id="a", event="E", position=Position(x=1, y=2)))
    data = json.loads(j.to_json())
    assert data["nodes"][0]["position"] == {"x": 1.0, "y": 2.0}
    j.set_positions({"a": (10, 20)})
    assert from_json(j.to_json()).node("a").position == Position(x=10, y=20)


def test_load_missing_file_is_a_definition_error(tmp_path):
    with pytest.raises(JourneyDefinitionError) as e:
        load(tmp_path / "nope.json")
    assert e.value.path == "$" and "cannot read" in e.value.message


def test_defaults_are_omitted_from_the_json():
    data = json.loads(to_json(JourneyDef(id="j")))
    assert data == {"id": "j"}


def test_unknown_format_version_is_refused():
    with pytest.raises(JourneyDefinitionError) as e:
        from_json('{"id": "j", "format": 2}')
    assert e.value.path == "$.format" and "format 2" in e.value.message


# ------------------------------------------------------------------ schema


def test_shipped_schema_is_the_generated_one():
    shipped = json.loads((PKG_EXAMPLES.parent / "model" / SCHEMA_FILE).read_text())
    assert shipped == json.loads(json.dumps(_generate_schema(), sort_keys=True)), (
        "the model changed: regenerate the schema with `python -m journeylab.model.io`"
    )
    assert json_schema() == shipped


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_match_the_schema(name):
    jsonschema.Draft202012Validator(json_schema()).validate(json.loads(EXAMPLES[name]().to_json()))


def test_schema_rejects_an_unknown_node_kind():
    bad = {"id": "j", "nodes": [{"kind": "teleport", "id": "x"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(json_schema()).validate(bad)


# ------------------------------------------------------------------ example files


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_files_equal_the_code(name):
    expected = to_json(EXAMPLES[name]().definition) + "\n"
    for folder in (PKG_EXAMPLES, REPO / "examples"):
        path = folder / f"{name}.json"
        assert path.read_text() == expected, (
            f"{path} is stale: run python -c 'from journeylab.examples import write_all; write_all()'"
        )
    assert ex.load(name).definition == EXAMPLES[name]().definition


def test_no_stray_example_files():
    for folder in (PKG_EXAMPLES, REPO / "examples"):
        assert {p.stem for p in folder.glob("*.json")} == set(EXAMPLES)


def test_examples_readme_lists_every_example():
    readme = (REPO / "examples" / "README.md").read_text()
    for name in EXAMPLES:
        assert f"{name}.json" in readme


def test_write_all_writes_both_copies(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    written = ex.write_all(a, b)
    assert len(written) == 2 * len(EXAMPLES)
    assert (a / "ride_tier.json").read_text() == (b / "ride_tier.json").read_text()


def test_unknown_example_name():
    with pytest.raises(KeyError, match="no example 'nope'"):
        ex.load("nope")


# ------------------------------------------------------------------ fuzzing


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=20,
)

# dicts that look a little like journeys, so the fuzzer gets past the first checks
journey_like = st.fixed_dictionaries(
    {"id": st.text(max_size=4) | json_values},
    optional={
        "nodes": st.lists(
            st.fixed_dictionaries(
                {"kind": st.sampled_from([*NODE_KINDS, "nope"]) | json_values, "id": st.text(max_size=3)},
                optional={k: json_values for k in ("event", "window", "within", "duration", "branches", "content")},
            ),
            max_size=4,
        )
        | json_values,
        "connectors": st.lists(
            st.fixed_dictionaries({"from": json_values, "port": json_values, "to": json_values}), max_size=3
        ),
        "settings": st.dictionaries(
            st.sampled_from(["timezone", "dnd", "schedule", "limits", "start", "journey_timeout", "bogus"]),
            json_values,
        ),
        "goals": json_values,
        "format": st.sampled_from([1, 2, "1", None]),
    },
)


def _must_be_definition_error_or_ok(fn, arg):
    try:
        d = fn(arg)
    except JourneyDefinitionError as e:
        assert e.path.startswith("$"), e.path
        assert e.message
        return None
    assert isinstance(d, JourneyDef)
    return d


def _report_is_sane(d):
    report = validate(d)
    for issue in report:
        assert issue.code in CODES
        assert issue.path.startswith("$")
        assert issue.message
    return report


@FUZZ
@given(json_values | journey_like)
def test_fuzz_from_dict_and_validate(data):
    d = _must_be_definition_error_or_ok(from_dict, data)
    if d is not None:
        _report_is_sane(d)
    _report_is_sane(data if isinstance(data, dict) else {"id": "x"})


@FUZZ
@given(json_values | journey_like)
def test_fuzz_from_json(data):
    text = json.dumps(data)
    d = _must_be_definition_error_or_ok(from_json, text)
    if d is not None:
        _report_is_sane(d)


@FUZZ
@given(st.binary(max_size=60) | st.text(max_size=60))
def test_fuzz_from_json_garbage(raw):
    _must_be_definition_error_or_ok(from_json, raw)
    report = validate(raw)
    assert report.codes == ["invalid-format"] or report.codes == [] or "invalid-format" not in report.codes


def _paths(obj, prefix=()):
    """Every (container, key) position inside a JSON value."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield obj, k
            yield from _paths(v)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield obj, i
            yield from _paths(v)


@st.composite
def mutated_journeys(draw):
    source = draw(st.sampled_from(sorted(EXAMPLES)) | st.just("random"))
    if source == "random":
        data = json.loads(to_json(draw(random_journeys(max_nodes=5))))
    else:
        data = json.loads(EXAMPLES[source]().to_json())
    data = copy.deepcopy(data)
    for _ in range(draw(st.integers(1, 4))):
        spots = list(_paths(data))
        if not spots:
            break
        container, key = draw(st.sampled_from(spots))
        action = draw(st.sampled_from(["replace", "delete", "add", "stringify", "nest"]))
        if action == "replace":
            container[key] = draw(json_values)
        elif action == "delete":
            del container[key]
        elif action == "add" and isinstance(container, dict):
            container[draw(st.text(max_size=6))] = draw(json_values)
        elif action == "stringify":
            container[key] = json.dumps(container[key])
        elif action == "nest":
            container[key] = [container[key]]
    return data


@FUZZ
@given(mutated_journeys())
def test_fuzz_mutated_journeys(data):
    d = _must_be_definition_error_or_ok(from_dict, data)
    if d is not None:
        _report_is_sane(d)
    _must_be_definition_error_or_ok(from_json, json.dumps(data))
    _report_is_sane(data)


@FUZZ
@given(random_journeys())
def test_validate_never_raises_on_random_journeys(d):
    _report_is_sane(d)
    _report_is_sane(Journey.from_def(d))


def test_deeply_nested_json_is_a_definition_error():
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(JourneyDefinitionError) as e:
        from_json(deep)
    assert e.value.path == "$"
    nested: object = {"id": "j"}
    for _ in range(3000):
        nested = [nested]
    _must_be_definition_error_or_ok(
        from_dict, {"id": "j", "nodes": [{"kind": "profile_update", "id": "u", "property": "p", "value": nested}]}
    )


def test_wrong_python_types_are_reported_not_raised():
    d = JourneyDef(id="j", nodes=[Push(id="p", content={"title": 5})])  # msgspec does not check at construction
    report = validate(d)
    assert report.codes == ["invalid-value"]
    assert report.errors[0].path == "$.nodes[0].content[...]"
    d = JourneyDef(id="j", nodes=[Push(id="p", content={"title": object()})])
    assert validate(d).codes == ["invalid-value"]


# ------------------------------------------------------------------ docs/format.md


def _format_doc() -> str:
    return (REPO / "docs" / "format.md").read_text()


def test_format_doc_full_example_is_valid_and_exact():
    doc = _format_doc()
    block = doc.split("```json\n", 1)[1].split("\n```", 1)[0]
    d = from_json(block)
    assert validate(d).issues == ()
    assert to_json(d) == block  # exactly as journeylab writes it
    kinds = {type(n).__struct_config__.tag for n in d.nodes}
    assert {"inaction", "split", "push", "sms", "email", "delay", "action", "profile_update"} <= kinds


def test_format_doc_covers_every_kind_field_and_code():
    import msgspec

    from journeylab.model.nodes import NodeBase

    doc = _format_doc()
    base = {f.name for f in msgspec.structs.fields(NodeBase)}
    for kind, info in NODE_KINDS.items():
        assert f"`{kind}`" in doc, kind
        for f in msgspec.structs.fields(info.cls):
            if f.name not in base:
                assert f"`{f.encode_name}`" in doc, (kind, f.encode_name)
    from journeylab.model import Settings

    for f in msgspec.structs.fields(Settings):
        assert f"`{f.encode_name}`" in doc, f.encode_name
    for code in CODES:
        assert f"`{code}`" in doc, code


# ------------------------------------------------------------------ values JSON cannot carry back (#16 finding 8)
def _with_filter_value(token: str) -> str:
    d = to_dict(EXAMPLES["cart_abandonment"]().definition)
    d["nodes"][3]["filters"] = [{"property": "amount", "op": ">", "value": 0}]
    return json.dumps(d).replace('"value": 0', f'"value": {token}')


@pytest.mark.parametrize(
    "token",
    ["NaN", "Infinity", "-Infinity", "1e999", "9" * 4401, str(2**63), str(-(2**63) - 1)],
    ids=["NaN", "Infinity", "-Infinity", "1e999", "4401-digits", "2**63", "-2**63-1"],
)
def test_reading_a_value_json_cannot_carry_back_is_an_error_with_its_path(tmp_path, token):
    text = _with_filter_value(token)
    with pytest.raises(JourneyDefinitionError) as e:
        from_json(text)
    assert e.value.path == "$.nodes[3].filters[0].value"
    (tmp_path / "j.json").write_text(text)
    with pytest.raises(JourneyDefinitionError) as e:
        load(tmp_path / "j.json")
    assert e.value.path == "$.nodes[3].filters[0].value"


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), float("-inf"), 10**4400, 2**63, -(2**63) - 1],
    ids=["nan", "inf", "-inf", "10**4400", "2**63", "-2**63-1"],
)
def test_a_dict_with_a_value_json_cannot_carry_back_is_an_error_with_its_path(value):
    data = json.loads(_with_filter_value("0"))
    data["nodes"][3]["filters"][0]["value"] = value
    with pytest.raises(JourneyDefinitionError) as e:
        from_dict(data)
    assert e.value.path == "$.nodes[3].filters[0].value"


def test_reading_text_with_a_lone_surrogate_is_an_error_with_its_path():
    d = to_dict(EXAMPLES["cart_abandonment"]().definition)
    text = json.dumps(d).replace('"Cart abandonment"', '"Cart \\udfff"')
    with pytest.raises(JourneyDefinitionError, match="lone surrogate") as e:
        from_json(text)
    assert e.value.path == "$.name"


def test_writing_nan_infinity_or_a_lone_surrogate_is_an_error_not_a_silent_null():
    base = EXAMPLES["cart_abandonment"]().definition
    node = base.nodes[3]
    import msgspec

    from journeylab.model import PropertyFilter

    for value in (float("nan"), float("-inf")):
        d = msgspec.structs.replace(
            base,
            nodes=[
                *base.nodes[:3],
                msgspec.structs.replace(node, filters=[PropertyFilter(property="amount", op=">", value=value)]),
                base.nodes[4],
            ],
        )
        with pytest.raises(JourneyDefinitionError) as e:
            to_json(d)
        assert e.value.path == "$.nodes[3].filters[0].value"
    with pytest.raises(JourneyDefinitionError) as e:
        to_json(msgspec.structs.replace(base, name="Cart \udfff"))  # was a UnicodeEncodeError
    assert e.value.path == "$.name"


def test_64_bit_integers_and_finite_floats_round_trip():
    for token in (str(2**63 - 1), str(-(2**63)), "1.5e300", "-0.0"):
        d = from_json(_with_filter_value(token))
        assert from_json(to_json(d)) == d
        assert d.nodes[3].filters[0].value == json.loads(token)
