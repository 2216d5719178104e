"""党员认证 in chat: a follower proves who they are (name, then phone, matched against the roster), sees and leaves
the binding; bound secretaries confirm or reject applications; an organisation's QR code starts the dialog."""

from __future__ import annotations

import math

from sqlalchemy.exc import IntegrityError

from bot.core.members import CONFIRMED, PENDING
from bot.core.organisations import Organisation, OrganisationsConfig, RosterMember, by_code, mask_name
from bot.inbound.context import Context
from bot.inbound.message import Message
from bot.inbound.router import Router, kind_is, state_is, text_is
from handlers.orgs import binding, notify, tree

router = Router("orgs")
STATE = "orgs:auth"  # the dialog: orgs:auth:name, then orgs:auth:phone (data: org = a QR code's organisation code)
LEAVE = "orgs:leave"  # 解除认证 awaits 是 / 否
SCENE = "org:"  # an organisation QR code's scene: org:<organisation code>
START_WORDS = ("党员认证", "认证", "绑定组织", "选择组织", "认证党员")
MINE_WORDS = ("我的认证", "我的组织", "认证状态")
LEAVE_WORDS = ("解除认证", "取消认证", "解绑组织")
NOT_VERIFIED = (
    "未能核实您的党员身份。请核对姓名和手机号码是否与所在党组织登记的一致，然后回复「党员认证」重试；"
    "如有疑问，请联系所在党组织书记。"
)
STATUS = {CONFIRMED: "已认证", PENDING: "待党组织书记确认"}


def cfg(ctx: Context) -> OrganisationsConfig:
    return OrganisationsConfig.of(ctx.settings)


def too_many(wait: int) -> str:
    """The reply once the wrong guesses are used up (no hint at what was wrong)."""
    if wait > 3 * 3600:
        return "党员认证尝试次数过多，请明天再试。如有疑问，请联系所在党组织书记。"
    return f"党员认证尝试次数过多，请 {max(1, math.ceil(wait / 60))} 分钟后再试。"


def move_points(ctx: Context, old: tuple[str | None, str | None], new: tuple[str | None, str | None]) -> None:
    """Keep the follower's points on the organisation boards they now belong to (quiz's services.points);
    the console tree's counts are computed again."""
    tree.bump(ctx.services.redis)
    points = getattr(ctx.services, "points", None)
    if points is not None:  # also when only the status changed: confirmed members count for their organisation
        points.move(ctx.db, ctx.openid, old, new)


def start(ctx: Context, org: Organisation | None = None) -> str:
    """Open the dialog (for `org`'s subtree when it came from its QR code): ask the name."""
    wait = binding.wait_seconds(ctx.services.redis, ctx.openid, cfg(ctx))
    if wait:
        ctx.dialog.clear()
        return too_many(wait)
    ctx.dialog.clear()
    ctx.dialog.set(f"{STATE}:name", org=org.code if org else None)
    head = f"【党员认证·{org.name}】" if org else "【党员认证】"
    found = binding.binding(ctx.db, ctx.openid)
    note = ""
    if found and found[0].status == CONFIRMED and found[2] is not None:
        note = f"您已认证为「{found[2].name}」党员，重新认证将替换原认证，积分保留。\n"
    return f"{head}\n{note}请回复您的姓名（与党员花名册登记的一致）。\n回复「取消」退出。"


@router.text(*START_WORDS)
@router.click("ORG_CONFIRM")
def begin(msg: Message, ctx: Context) -> str:
    return start(ctx)


def scene_hook(ctx: Context, scene: str) -> str | None:
    """An organisation's QR code (scene org:<code>), scanned or followed through: 党员认证 for that organisation."""
    if not scene.startswith(SCENE):
        return None
    org = by_code(ctx.db, scene[len(SCENE) :])
    if org is None or org.dissolved_at is not None:
        return "这个二维码对应的党组织已撤销或不存在。回复「党员认证」可直接认证。"
    return start(ctx, org)


@router.text(*MINE_WORDS)
def mine(msg: Message, ctx: Context) -> str:
    found = binding.binding(ctx.db, ctx.openid)
    if found is None:
        return "您还没有进行党员认证。回复「党员认证」，用姓名和手机号码认证党员身份。"
    row, member, org = found
    lines = [
        "【我的认证】",
        f"组织：{org.name if org else row.organisation}",
        f"状态：{STATUS.get(row.status, '未认证（自选组织）')}",
    ]
    if member is not None:
        lines.append(f"姓名：{mask_name(member.name, 'middle')}")
    lines.append("")
    lines.append("回复「解除认证」可解除。" if row.status != "unconfirmed" else "回复「党员认证」完成认证。")
    return "\n".join(lines)


@router.text(*LEAVE_WORDS)
def leave(msg: Message, ctx: Context) -> str:
    found = binding.binding(ctx.db, ctx.openid)
    if found is None:
        return "您还没有进行党员认证，无需解除。"
    org = found[2]
    ctx.dialog.clear()
    ctx.dialog.set(LEAVE)
    return f"确定要解除与「{org.name if org else found[0].organisation}」的认证吗？回复「是」解除，「否」保留。"


@router.on(state_is(LEAVE), text_is("是", "确定", "确认"))
def leave_yes(msg: Message, ctx: Context) -> str:
    ctx.dialog.clear()
    found = binding.binding(ctx.db, ctx.openid)
    if found is None:
        return "您还没有进行党员认证，无需解除。"
    old = binding.remove(ctx.db, found[0])
    binding.audit(ctx.db, "member.unbind", None, found[0].member_id, via="chat", by="self")
    ctx.db.commit()
    move_points(ctx, old, (None, None))
    return "已解除认证，您的积分保留。回复「党员认证」可重新认证。"


@router.on(state_is(LEAVE), kind_is("text"))
def leave_other(msg: Message, ctx: Context) -> str:
    if ctx.norm_text in ("否", "不", "不是", "保留"):
        ctx.dialog.clear()
        return "已保留您的认证。"
    return "请回复「是」解除认证，或「否」保留。"


@router.regex(r"^(?P<verb>确认|拒绝)认证(?P<number>\d{1,10})$")
def decide(msg: Message, ctx: Context) -> str:
    """A bound secretary (or instructor) confirms or rejects an application by its 编号 (the roster member id)."""
    account = binding.staff_by_openid(ctx.db, ctx.openid)
    if account is None or not account.has_role("secretary", "instructor"):
        return "只有绑定了管理后台的党组织书记或党建指导员可以处理认证申请（管理后台「微信提醒」页面绑定）。"
    number = int(ctx.match["number"])
    member = ctx.db.get(RosterMember, number)
    org = ctx.db.get(Organisation, member.organisation_id) if member else None
    row = binding.pending_of(ctx.db, number)
    if member is None or row is None or not binding.may_decide(ctx.db, account, org):
        return f"没有找到编号 {number} 的待确认认证申请（可能已处理，或不在您负责的组织内）。"
    assert org is not None
    if ctx.match["verb"] == "确认":
        binding.confirm(ctx.db, row, account.username, "secretary")
        binding.audit(ctx.db, "member.confirm", account, number, via="wechat")
        ctx.db.commit()
        tree.bump(ctx.services.redis)
        binding.recount(ctx.services, ctx.db, row)
        notify.tell(ctx.services, row.openid, f"您的党员认证已通过：{org.name}。回复「我的认证」查看。")
        return f"已确认：{member.name}（{org.name}）认证通过，已通知本人。"
    openid = row.openid
    old = binding.remove(ctx.db, row)
    binding.audit(ctx.db, "member.reject", account, number, via="wechat")
    ctx.db.commit()
    points = getattr(ctx.services, "points", None)
    if points is not None:
        points.move(ctx.db, openid, old, (None, None))
    notify.tell(ctx.services, openid, "您的党员认证申请未通过。如有疑问，请联系所在党组织书记。")
    return f"已拒绝：{member.name}（{org.name}）的认证申请，已通知申请人。"


# The dialog's steps come after the commands: 我的认证, 解除认证 or 确认认证 typed mid-dialog are not a name.
@router.on(state_is(f"{STATE}:name"), kind_is("text"))
def got_name(msg: Message, ctx: Context) -> str:
    name = binding.clean_name(msg.text)
    if not binding.NAME.match(name):
        return "请回复您的姓名（2 到 20 个汉字或字母），或回复「取消」退出。"
    ctx.dialog.set(f"{STATE}:phone", name=name)
    return "请回复您在党组织登记的手机号码（11 位）。"


@router.on(state_is(f"{STATE}:phone"), kind_is("text"))
def got_phone(msg: Message, ctx: Context) -> str:
    phone = binding.clean_phone(msg.text)
    if phone is None:
        return "手机号码应为 11 位数字，请重新回复，或回复「取消」退出。"
    c, data = cfg(ctx), dict(ctx.dialog.data)
    ctx.dialog.clear()
    wait = binding.wait_seconds(ctx.services.redis, ctx.openid, c)
    if wait:
        return too_many(wait)
    root = by_code(ctx.db, data["org"]) if data.get("org") else None
    found = binding.find(ctx.db, ctx.openid, str(data.get("name", "")), phone, root)
    if found.problem == "already" and found.organisation is not None:
        return f"您已完成党员认证：{found.organisation.name}。回复「我的认证」查看。"
    if found.problem or found.member is None or found.organisation is None:
        if found.problem == "taken" and found.member is not None:
            taken(ctx, found.member)
        left = binding.count_wrong(ctx.services.redis, ctx.openid, c)
        return f"{NOT_VERIFIED}（还可尝试 {left} 次）" if left else too_many(c.attempt_window)
    return matched(ctx, found.member, found.organisation, "qr" if root else "chat")


def taken(ctx: Context, member: RosterMember) -> None:
    """The member is bound to another WeChat: the applicant hears 未能核实; the secretaries are told."""
    org = ctx.db.get(Organisation, member.organisation_id)
    text = (
        f"【党员认证提醒】有微信用户以{org.name if org else ''}党员{member.name}（编号 {member.id}）的信息申请认证，"
        "但该党员已绑定其他微信，申请未通过。如确属本人更换微信，请在管理后台「党员认证」页面解除原绑定后请其重新认证。"
    )
    notify.tell_secretaries(ctx.services, member.organisation_id, text)


def matched(ctx: Context, member: RosterMember, org: Organisation, via: str) -> str:
    """Bind: confirmed at once (auto), or pending with the secretaries told (secretary)."""
    mode = cfg(ctx).confirm
    method = via if mode == "secretary" or via == "qr" else "auto"  # auto, qr; or chat / qr until a secretary decides
    old = binding.bind(ctx.db, ctx.openid, member, org, mode, method)
    binding.audit(ctx.db, "member.apply", None, member.id, via=via, confirm=mode)
    try:
        ctx.db.commit()
    except IntegrityError:  # another WeChat bound the same member at this very moment: theirs stands
        ctx.db.rollback()
        return NOT_VERIFIED
    move_points(ctx, old, (org.code, org.district))
    shown = mask_name(member.name, "middle")
    if mode == "auto":
        return (
            f"认证成功！您已认证为「{org.name}」党员（{shown}）。\n"
            "回复「我的认证」查看，「排行榜」查看本组织榜单，「解除认证」可解除。"
        )
    told = notify.tell_secretaries(
        ctx.services,
        org.id,
        f"【党员认证】{org.name}的{member.name}申请认证（编号 {member.id}）。"
        f"回复「确认认证 {member.id}」通过，「拒绝认证 {member.id}」拒绝，也可在管理后台「党员认证」页面处理。",
    )
    who = "党组织书记" if told else "党组织书记在管理后台"
    return f"已提交认证申请（{org.name}，{shown}），等待{who}确认，结果会在公众号通知您。回复「我的认证」查看进度。"


def still_open(ctx: Context) -> str | None:
    """After 帮助: what the running 党员认证 dialog waits for."""
    if ctx.dialog.in_state(f"{STATE}:name"):
        return "—— 您正在进行党员认证，请回复您的姓名，或回复「取消」退出 ——"
    if ctx.dialog.in_state(f"{STATE}:phone"):
        return "—— 您正在进行党员认证，请回复您的手机号码，或回复「取消」退出 ——"
    if ctx.dialog.in_state(LEAVE):
        return "—— 请回复「是」解除认证，或「否」保留 ——"
    return None
