"""--input-shape / --dtype parsing and matching against a model's declared inputs (no TensorFlow)."""

from __future__ import annotations

import pytest

from modelscope.errors import InputSpecError
from modelscope.model.inputs import InputArg, ModelInput, format_shape, make_input_spec, parse_shape, resolve


@pytest.mark.parametrize(
    "text",
    ["None,28,28,1", "(None, 28, 28, 1)", "[?, 28, 28, 1]", " none , 28,28 ,1 ", "(None,28,28,1,)", "null,28,28,1"],
)
def test_shape_spellings(text: str) -> None:
    assert parse_shape(text) == (None, 28, 28, 1)


def test_rank_one_shape_keeps_its_comma() -> None:
    assert parse_shape("(None,)") == (None,)
    assert format_shape((None,)) == "(None,)"
    assert format_shape((None, 10)) == "(None, 10)"
    assert format_shape(None) == "?"


def test_zero_length_axes_are_sizes() -> None:
    # keras-hub's SAM takes a prompt input with no points: (None, 0, 2)
    assert parse_shape("None,0,128,128,1") == (None, 0, 128, 128, 1)
    assert make_input_spec([(None, 0, 2)]).args[0].shape == (None, 0, 2)


@pytest.mark.parametrize("text", ["None,x", "None,-3", "None,²", "", "None,,3", "None,2.5", "None,1e3"])
def test_bad_shapes_say_what_to_write(text: str) -> None:
    with pytest.raises(InputSpecError, match="e.g. --input-shape None,28,28,1"):
        parse_shape(text)


def test_named_shapes_and_dtypes() -> None:
    spec = make_input_spec(["image=None,32,32,3", "tokens=(None, 16)"], ["tokens=int32"])
    assert spec.args == (
        InputArg((None, 32, 32, 3), "image", None),
        InputArg((None, 16), "tokens", "int32"),
    )


def test_one_dtype_applies_to_all_inputs_and_positional_dtypes_pair_up() -> None:
    assert [a.dtype for a in make_input_spec(["None,4", "None,5"], ["int32"]).args] == ["int32", "int32"]
    assert [a.dtype for a in make_input_spec(["None,4", "None,5"], ["int32", "float16"]).args] == [
        "int32",
        "float16",
    ]
    with pytest.raises(InputSpecError, match="3 --dtype values for 2"):
        make_input_spec(["None,4", "None,5"], ["int32", "int32", "int32"])


def test_unknown_dtype_lists_the_known_ones() -> None:
    with pytest.raises(InputSpecError, match="unknown dtype 'int33'.*int32"):
        make_input_spec("None,4", "int33")


def test_mixing_named_and_unnamed_is_refused() -> None:
    with pytest.raises(InputSpecError, match="name all inputs"):
        make_input_spec(["a=None,4", "None,5"])


def test_python_values() -> None:
    assert make_input_spec((None, 28, 28, 1)).args == (InputArg((None, 28, 28, 1)),)
    assert [a.shape for a in make_input_spec([(None, 4), "None,5"]).args] == [(None, 4), (None, 5)]
    assert make_input_spec({"x": (None, 3)}).args == (InputArg((None, 3), "x"),)
    with pytest.raises(InputSpecError):
        make_input_spec((None, -1))


DECLARED = [ModelInput("image", (None, 32, 32, 3), "float32"), ModelInput("tokens", (None, 16), "int32")]


def test_declared_inputs_are_used_when_no_shape_is_given() -> None:
    resolved = resolve(make_input_spec(), DECLARED)
    assert resolved == [InputArg((None, 32, 32, 3), "image", "float32"), InputArg((None, 16), "tokens", "int32")]


def test_given_shapes_must_agree_with_declared_ones() -> None:
    with pytest.raises(InputSpecError, match=r"contradicts the model's input 'image' of shape \(None, 32, 32, 3\)"):
        resolve(make_input_spec(["None,28,28,3", "None,16"]), DECLARED)
    with pytest.raises(InputSpecError, match="2 inputs"):
        resolve(make_input_spec("None,32,32,3"), DECLARED)


def test_given_shapes_fill_in_unknown_dimensions() -> None:
    declared = [ModelInput("x", (None, None, None, 3), "float32")]
    assert resolve(make_input_spec("8,224,?,3"), declared) == [InputArg((8, 224, None, 3), "x", "float32")]


def test_named_shapes_bind_by_name_whatever_the_order() -> None:
    resolved = resolve(make_input_spec(["tokens=None,16", "image=None,32,32,3"]), DECLARED)
    assert [a.name for a in resolved] == ["image", "tokens"]
    with pytest.raises(InputSpecError, match="no input named 'text'"):
        resolve(make_input_spec(["text=None,16"]), DECLARED)


def test_undeclared_model_needs_a_shape() -> None:
    with pytest.raises(InputSpecError, match="add --input-shape"):
        resolve(make_input_spec(), [])
    assert resolve(make_input_spec("None,10"), []) == [InputArg((None, 10), None, "float32")]
