import pytest

from telemetry_policy.model import Record


class Point(Record):
    x: int
    y: int = 0
    label: str = ""


def test_fields_defaults_and_keywords():
    assert Point(1, 2, "a") == Point(x=1, y=2, label="a")
    assert Point(1) == Point(1, 0, "")
    assert Point(1, label="b").label == "b"
    assert repr(Point(1)) == "Point(x=1, y=0, label='')"
    assert hash(Point(1, 2)) == hash(Point(1, 2))
    assert Point(1) != Point(2) and Point(1) != (1, 0, "")


def test_immutable_and_replace():
    p = Point(1)
    with pytest.raises(AttributeError, match="immutable"):
        p.x = 2
    q = p._replace(y=5)
    assert (p.y, q.y, q.x) == (0, 5, 1)
    with pytest.raises(TypeError, match="no field 'z'"):
        p._replace(z=1)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((), {}, "missing argument"),
        ((1, 2, "a", 4), {}, "takes 3 arguments"),
        ((1,), {"x": 2}, "unexpected or repeated"),
        ((1,), {"z": 2}, "unexpected or repeated"),
    ],
)
def test_wrong_calls_raise_type_error(args, kwargs, message):
    with pytest.raises(TypeError, match=message):
        Point(*args, **kwargs)
