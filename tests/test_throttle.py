"""The client-side rate limiter (kommo_api.throttle)."""

import threading
import time

import pytest

from kommo_api.throttle import NoThrottle, SlidingWindowThrottle, Throttle


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def busiest_window(times, period):
    """The largest number of times that fall within one window of ``period`` seconds."""
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + period) for i, start in enumerate(times))


def test_the_first_seven_calls_go_without_waiting():
    fake = FakeTime()
    throttle = SlidingWindowThrottle(clock=fake.clock, sleep=fake.sleep)

    for _ in range(7):
        throttle.acquire("acme")

    assert fake.sleeps == []


def test_the_eighth_call_waits_until_the_first_leaves_the_window():
    fake = FakeTime()
    throttle = SlidingWindowThrottle(clock=fake.clock, sleep=fake.sleep)
    for _ in range(7):
        throttle.acquire("acme")

    throttle.acquire("acme")

    assert fake.now == pytest.approx(1001.05)


def test_no_window_of_one_second_holds_more_than_seven_calls():
    fake = FakeTime()
    throttle = SlidingWindowThrottle(clock=fake.clock, sleep=fake.sleep)
    sent = []

    for i in range(50):
        if i % 9 == 0:
            fake.now += 0.3  # irregular pauses between bursts
        throttle.acquire("acme")
        sent.append(fake.now)

    assert busiest_window(sent, 1.0) == 7


def test_a_token_bucket_burst_across_a_window_edge_is_not_allowed():
    fake = FakeTime()
    throttle = SlidingWindowThrottle(clock=fake.clock, sleep=fake.sleep)
    sent = []
    fake.now += 0.9
    for _ in range(7):
        throttle.acquire("acme")
        sent.append(fake.now)
    fake.now += 0.2  # past a "one second" boundary a bucket would refill here

    for _ in range(6):
        throttle.acquire("acme")
        sent.append(fake.now)

    assert busiest_window(sent, 1.0) <= 7


def test_accounts_are_throttled_independently():
    fake = FakeTime()
    throttle = SlidingWindowThrottle(clock=fake.clock, sleep=fake.sleep)

    for _ in range(7):
        throttle.acquire("acme")
        throttle.acquire("other")

    assert fake.sleeps == []


def test_limits_are_configurable():
    fake = FakeTime()
    throttle = SlidingWindowThrottle(max_calls=2, period=0.5, margin=0, clock=fake.clock,
                                     sleep=fake.sleep)  # fmt: skip
    for _ in range(3):
        throttle.acquire("acme")

    assert fake.now == pytest.approx(1000.5)


@pytest.mark.parametrize("kwargs", [{"max_calls": 0}, {"period": 0}, {"margin": -1}])
def test_nonsensical_limits_are_refused(kwargs):
    with pytest.raises(ValueError):
        SlidingWindowThrottle(**kwargs)


def test_threads_sharing_a_throttle_never_exceed_the_limit():
    # Each thread reads the send time that the throttle itself recorded (its last clock read).
    last_read = threading.local()

    def clock():
        last_read.value = time.monotonic()
        return last_read.value

    throttle = SlidingWindowThrottle(max_calls=3, period=0.1, margin=0.01, clock=clock)
    sent, lock = [], threading.Lock()

    def worker():
        for _ in range(5):
            throttle.acquire("acme")
            with lock:
                sent.append(last_read.value)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(sent) == 15
    assert busiest_window(sent, 0.1) <= 3


def test_throttles_satisfy_the_protocol():
    assert isinstance(SlidingWindowThrottle(), Throttle)
    assert isinstance(NoThrottle(), Throttle)
    assert NoThrottle().acquire("acme") is None
