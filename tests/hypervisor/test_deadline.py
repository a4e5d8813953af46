import threading
import time

import pytest

from hypervisor.deadline import call_all, call_with_deadline
from hypervisor.errors import HostTimeout


def test_a_hung_host_times_out_while_the_others_answer():
    release = threading.Event()
    calls = {f"host{i:02d}": (lambda i=i: i) for i in range(20)}
    calls["host05"] = lambda: release.wait(30)
    begun = time.monotonic()
    outcomes = call_all(calls, seconds=0.3, workers=4)
    release.set()
    assert time.monotonic() - begun < 5
    assert isinstance(outcomes["host05"].error, HostTimeout)
    assert str(outcomes["host05"].error) == "Host host05 is unreachable: no answer within 0.3 s"
    assert {k: o.value for k, o in outcomes.items() if k != "host05"} == {
        f"host{i:02d}": i for i in range(20) if i != 5
    }


def test_errors_are_handed_back_per_host():
    def boom() -> int:
        raise OSError("connection refused")

    outcomes = call_all({"a": lambda: 1, "b": boom}, seconds=1, workers=2)
    assert outcomes["a"].value == 1
    assert isinstance(outcomes["b"].error, OSError)


def test_single_call_deadline():
    assert call_with_deadline("h", lambda: 42, 1) == 42
    with pytest.raises(HostTimeout, match="no answer within 0.1 s"):
        call_with_deadline("h", lambda: time.sleep(2), 0.1)
