"""The fake custom-menu, tag and user APIs: menu/*, tags/*, user/info, user/info/batchget, user/get, user/tag/get."""

from __future__ import annotations

from typing import Any, NamedTuple

from flask import jsonify, request

from bot.emulator.api_base import ApiError, api, body, ok, state
from bot.emulator.keys import DAY, FIRST_TAG_ID
from bot.emulator.state_gate import Quota

MENU_QUOTA = (Quota("menu-create", 1000, DAY, 45009),)  # menu/create calls a day
USER_INFO_QUOTA = (Quota("user-info", 5_000_000, DAY, 45009),)  # user/info (and batchget) calls a day
USER_GET_QUOTA = (Quota("user-get", 500, DAY, 45009),)  # follower-list calls a day
MAX_BUTTONS, MAX_SUBS = 3, 5  # buttons in a menu, sub-buttons under one button
NAME_BYTES = {True: 16, False: 60}  # name size limit in bytes: top-level button, sub-button
KEY_BYTES, URL_BYTES = 128, 1024  # limits of a button's key and url
KEY_TYPES = frozenset(
    {
        "click",
        "scancode_push",
        "scancode_waitmsg",
        "pic_sysphoto",
        "pic_photo_or_album",
        "pic_weixin",
        "location_select",
    }
)  # button types that need a key
BUTTON_TYPES = KEY_TYPES | {
    "view",
    "miniprogram",
    "media_id",
    "view_limited",
    "article_id",
    "article_view_limited",
}  # every button type WeChat accepts
MAX_TAGS, TAG_NAME_CHARS, TAGS_PER_USER = 100, 30, 20  # tags per account, name length, tags on one user
TAG_BATCH = 50  # openids per batchtagging call
BATCHGET_MAX = 100  # users per user/info/batchget call
PAGE = 10_000  # openids per page of user/get and user/tag/get


class Codes(NamedTuple):
    """The errcodes for a faulty top-level button or sub-button."""

    type: int
    name: int
    key: int
    url: int


CODES = {True: Codes(40017, 40018, 40019, 40020), False: Codes(40024, 40025, 40026, 40027)}  # by top-level


# Menu ---------------------------------------------------------------------------------
def check_size(value: Any, limit: int, code: int) -> None:
    """A non-empty string of at most `limit` UTF-8 bytes, else `code`."""
    if not isinstance(value, str) or not 0 < len(value.encode()) <= limit:
        raise ApiError(code)


def check_button(button: Any, top: bool) -> None:
    codes = CODES[top]
    if not isinstance(button, dict):
        raise ApiError(codes.type)
    check_size(button.get("name"), NAME_BYTES[top], codes.name)
    subs = button.get("sub_button")
    if top and subs:
        if not isinstance(subs, list) or len(subs) > MAX_SUBS:
            raise ApiError(40023)
        for sub in subs:
            check_button(sub, top=False)
        return
    kind = button.get("type")
    if kind not in BUTTON_TYPES:
        raise ApiError(codes.type)
    if kind in KEY_TYPES:
        check_size(button.get("key"), KEY_BYTES, codes.key)
    if kind in ("view", "miniprogram"):
        check_size(button.get("url"), URL_BYTES, codes.url)


@api("menu/create", quotas=MENU_QUOTA)
def menu_create() -> Any:
    data = body()
    buttons = data.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
        raise ApiError(40016)
    for button in buttons:
        check_button(button, top=True)
    state().set_menu({"button": buttons})
    return ok()


@api("menu/get", methods=("GET",))
def menu_get() -> Any:
    menu = state().menu()
    if menu is None:
        raise ApiError(46003)
    return jsonify(menu=menu)


@api("menu/delete", methods=("GET",))
def menu_delete() -> Any:
    state().delete_menu()
    return ok()


# Tags ---------------------------------------------------------------------------------
def tag_fields() -> dict[str, Any]:
    tag = body().get("tag")
    if not isinstance(tag, dict):
        raise ApiError(47001)
    return tag


def check_tag_name(name: Any, own_id: int | None = None) -> str:
    """45157 empty or taken, 45158 longer than 30 characters."""
    if not isinstance(name, str) or not name.strip():
        raise ApiError(45157)
    if len(name) > TAG_NAME_CHARS:
        raise ApiError(45158)
    if any(t["name"] == name and t["id"] != own_id for t in state().tags()):
        raise ApiError(45157)
    return name


def existing_tag(tag_id: Any, changing: bool = False) -> int:
    """The id of an existing tag; 45058 for reserved tags when `changing`, 45159 unknown."""
    try:
        value = int(tag_id)
    except (TypeError, ValueError):
        raise ApiError(45159) from None
    if changing and value < FIRST_TAG_ID:
        raise ApiError(45058)
    if state().tag(value) is None:
        raise ApiError(45159)
    return value


@api("tags/create")
def tags_create() -> Any:
    name = check_tag_name(tag_fields().get("name"))
    if len(state().tags()) >= MAX_TAGS:
        raise ApiError(45056)
    return jsonify(tag=state().create_tag(name))


@api("tags/get", methods=("GET",))
def tags_get() -> Any:
    return jsonify(tags=state().tags())


@api("tags/update")
def tags_update() -> Any:
    fields = tag_fields()
    tag_id = existing_tag(fields.get("id"), changing=True)
    state().save_tag({"id": tag_id, "name": check_tag_name(fields.get("name"), tag_id)})
    return ok()


@api("tags/delete")
def tags_delete() -> Any:
    state().delete_tag(existing_tag(tag_fields().get("id"), changing=True))
    return ok()


def tag_batch(add: bool) -> Any:
    """batchtagging / batchuntagging: 1-50 known openids and an existing tag."""
    data = body()
    openids = data.get("openid_list")
    if not isinstance(openids, list) or not 1 <= len(openids) <= TAG_BATCH:
        raise ApiError(40032)
    tag_id = existing_tag(data.get("tagid"))
    users = state().users_by_ids([str(o) for o in openids])
    if any(u is None for u in users):
        raise ApiError(40003)
    known = [u for u in users if u is not None]
    if add and any(len(set(u.get("tagid_list", [])) - {tag_id}) >= TAGS_PER_USER for u in known):
        raise ApiError(45059)
    state().retag(known, tag_id, add)
    return ok()


@api("tags/members/batchtagging")
def tags_batchtagging() -> Any:
    return tag_batch(add=True)


@api("tags/members/batchuntagging")
def tags_batchuntagging() -> Any:
    return tag_batch(add=False)


@api("tags/getidlist")
def tags_getidlist() -> Any:
    user = state().user(str(body().get("openid") or ""))
    if user is None:
        raise ApiError(40003)
    return jsonify(tagid_list=user.get("tagid_list", []))


# Users --------------------------------------------------------------------------------
def page(openids: list[str], after: str) -> dict[str, Any]:
    """One page of a follower list: up to PAGE openids after `after`, in WeChat's shape."""
    start = 0
    if after:
        if after not in openids:
            raise ApiError(40003)
        start = openids.index(after) + 1
    chunk = openids[start : start + PAGE]
    if not chunk:
        return {"count": 0, "next_openid": ""}
    return {"count": len(chunk), "data": {"openid": chunk}, "next_openid": chunk[-1]}


@api("user/get", methods=("GET",), quotas=USER_GET_QUOTA)
def user_get() -> Any:
    followers = [u["openid"] for u in state().users() if u.get("subscribed")]
    return jsonify(total=len(followers), **page(followers, request.args.get("next_openid", "")))


@api("user/tag/get")
def user_tag_get() -> Any:
    data = body()
    tag_id = existing_tag(data.get("tagid"))
    tagged = [u["openid"] for u in state().users() if u.get("subscribed") and tag_id in u.get("tagid_list", [])]
    return jsonify(page(tagged, str(data.get("next_openid") or "")))


def info(user: dict[str, Any], lang: str) -> dict[str, Any]:
    """user/info's answer for one user (only subscribe and openid when not following)."""
    if not user.get("subscribed"):
        return {"subscribe": 0, "openid": user["openid"]}
    return {
        "subscribe": 1,
        "openid": user["openid"],
        "nickname": user.get("nickname", ""),
        "language": lang,
        "subscribe_time": user.get("subscribe_time", 0),
        "remark": "",
        "groupid": 0,
        "tagid_list": user.get("tagid_list", []),
        "subscribe_scene": "ADD_SCENE_OTHERS",
        "qr_scene": 0,
        "qr_scene_str": "",
    }


@api("user/info", methods=("GET",), quotas=USER_INFO_QUOTA)
def user_info() -> Any:
    user = state().user(request.args.get("openid", ""))
    if user is None:
        raise ApiError(40003)
    return jsonify(info(user, request.args.get("lang", "zh_CN")))


@api("user/info/batchget", quotas=USER_INFO_QUOTA)
def user_info_batchget() -> Any:
    wanted = body().get("user_list")
    if not isinstance(wanted, list) or not 1 <= len(wanted) <= BATCHGET_MAX:
        raise ApiError(40032)
    items = [w if isinstance(w, dict) else {"openid": w} for w in wanted]
    users = state().users_by_ids([str(w.get("openid") or "") for w in items])
    if any(u is None for u in users):
        raise ApiError(40003)
    return jsonify(
        user_info_list=[info(u, str(w.get("lang") or "zh_CN")) for u, w in zip(users, items, strict=True) if u]
    )
