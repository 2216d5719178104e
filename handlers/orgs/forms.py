"""The orgs console's forms (Flask-WTF, CSRF on every POST): an organisation, a guidance group, a roster member."""

from __future__ import annotations

from flask import flash
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Length

from bot.core.organisations import CATEGORIES, KINDS, POSTS, SEXES


def options(values: tuple[str, ...] | list[tuple[str, str]], empty: str | None = None) -> list[SelectChoice]:
    """Select options from values (or (value, label) pairs), after an empty option labelled `empty`."""
    pairs = [v if isinstance(v, tuple) else (v, v) for v in values]
    return [SelectChoice(value, label) for value, label in ([("", empty)] if empty is not None else []) + pairs]


def problems_to(form: FlaskForm, problems: dict[str, str]) -> None:
    """Show each problem next to its field (or as a flash when the form has no such field)."""
    for name, message in problems.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]
        else:
            flash(message, "error")


class OrgForm(FlaskForm):
    """One organisation's fields; the parent by code (the choices of 片区 and group are set by the view)."""

    name = StringField("名称", validators=[Length(max=128, message="最多 128 个字")])
    kind = SelectField("类型", choices=options(KINDS), validate_choice=False)
    parent_code = StringField("上级组织编码", validators=[Length(max=32, message="最多 32 个字符")])
    district = SelectField("片区", validate_choice=False)
    enterprise = StringField("所在企业", validators=[Length(max=128, message="最多 128 个字")])
    secretary = StringField("书记", validators=[Length(max=32, message="最多 32 个字")])
    phone = StringField("联系电话", validators=[Length(max=20, message="最多 20 个字符")])
    group_id = SelectField("指导小组", validate_choice=False)
    submit = SubmitField("保存")


class GroupForm(FlaskForm):
    name = StringField("名称", validators=[Length(max=64, message="最多 64 个字")])
    instructor = StringField("党建指导员", validators=[Length(max=32, message="最多 32 个字")])
    phone = StringField("联系电话", validators=[Length(max=20, message="最多 20 个字符")])
    submit = SubmitField("保存")


class InstructorForm(FlaskForm):
    """The guidance group's instructor account (the choices are the eligible instructor accounts)."""

    account_id = SelectField("指导员账号", validate_choice=False)
    submit = SubmitField("保存")


class AssignForm(FlaskForm):
    codes = TextAreaField("组织编码（每行一个，或用逗号、顿号分隔）", validators=[Length(max=20000)])
    submit = SubmitField("划入本小组")


class MemberForm(FlaskForm):
    name = StringField("姓名", validators=[Length(max=32, message="最多 32 个字")])
    sex = SelectField("性别", choices=options(SEXES, "未填"), validate_choice=False)
    phone = StringField("手机号", validators=[Length(max=20, message="最多 20 个字符")])
    category = SelectField("类别", choices=options(CATEGORIES), validate_choice=False)
    joined_on = StringField("入党日期（如 2010-07-01）", validators=[Length(max=10, message="格式应为 2010-07-01")])
    post = SelectField("职务", choices=options(POSTS, "无"), validate_choice=False)
    submit = SubmitField("保存")


class TransferForm(FlaskForm):
    to_code = StringField("转入组织编码", validators=[Length(max=32, message="最多 32 个字符")])
    submit = SubmitField("转移")
