"""The dialog record and its Redis store: get / set / clear / update, with a TTL."""

from __future__ import annotations

import time

import pytest
import redis

from bot.inbound.dialog import Dialog, DialogStore


@pytest.fixture
def storage(redis_url) -> DialogStore:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    return DialogStore(client, ttl=1)


def test_empty_by_default(storage):
    assert storage.get("o1") == Dialog()


def test_set_get_round_trip_with_unicode(storage):
    storage.set("o1", Dialog("quiz:answering", {"q": [1, 2], "名": "张三"}))
    got = storage.get("o1")
    assert got.state == "quiz:answering" and got.data == {"q": [1, 2], "名": "张三"}
    assert storage.get("o2") == Dialog()


def test_update_keeps_data(storage):
    storage.update("o1", "ticket:category", a=1)
    storage.update("o1", "ticket:description", b=2)
    assert storage.get("o1") == Dialog("ticket:description", {"a": 1, "b": 2})


def test_clear_and_empty_set_delete(storage):
    storage.update("o1", "s", a=1)
    storage.clear("o1")
    assert storage.get("o1") == Dialog()
    storage.update("o1", "s")
    storage.set("o1", Dialog())
    assert storage.get("o1") == Dialog()


def test_entries_expire_after_ttl(storage):
    storage.update("o1", "s", a=1)
    time.sleep(1.2)
    assert storage.get("o1") == Dialog()


def test_in_state_matches_prefixes():
    d = Dialog("quiz:answering")
    assert d.in_state("quiz") and d.in_state("quiz:answering") and not d.in_state("qui")
    assert not Dialog().in_state("quiz")


def test_unreadable_data_is_an_empty_dialog():
    assert Dialog.loads("{not json") == Dialog() and Dialog.loads(None) == Dialog()
