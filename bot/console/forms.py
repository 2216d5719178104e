"""Console forms (Flask-WTF: every POST form carries the CSRF token), with Chinese labels and messages."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    ValidationError,
)
from wtforms.validators import DataRequired, EqualTo, Length, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from bot.console.security import password_problem
from bot.core.accounts import ROLES

USERNAME = r"^[A-Za-z0-9_.\-]{3,32}$"  # letters, digits, _ . - ; 3 to 32 characters
TAG_NAME_MAX = 30  # WeChat's limit on a tag name, in characters
REQUIRED = "请填写此项"  # the message of an empty required field


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes (roles)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def role_field(label: str = "角色") -> MultiCheckboxField:
    return MultiCheckboxField(label, choices=choices(ROLES))


def choices(labels: dict[Any, str]) -> list[SelectChoice]:
    """Select options from value → label."""
    return [SelectChoice(value, label) for value, label in labels.items()]


class NewPassword:
    """Validator: a password the console accepts (length, not the username)."""

    def __call__(self, form: FlaskForm, field: Any) -> None:
        username = getattr(getattr(form, "username", None), "data", "") or getattr(form, "owner", "")
        problem = password_problem(field.data or "", username)
        if problem:
            raise ValidationError(problem)


def password_pair() -> tuple[PasswordField, PasswordField]:
    new = PasswordField("新密码", validators=[DataRequired(REQUIRED), NewPassword()])
    again = PasswordField("再输一次", validators=[DataRequired(REQUIRED), EqualTo("password", "两次输入的密码不一致")])
    return new, again


class Listed:
    """Validator: one of the select's options (WTForms' own check answers in English)."""

    def __call__(self, form: FlaskForm, field: Any) -> None:
        if (field.data or "") not in {value for value, *_ in field.choices}:
            raise ValidationError("请从列表中选择")


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired(REQUIRED), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired(REQUIRED)])
    submit = SubmitField("登录")


class OwnPasswordForm(FlaskForm):
    owner = ""  # the signed-in username, set by the view (a password may not equal it)
    current = PasswordField("当前密码", validators=[DataRequired(REQUIRED)])
    password, confirm = password_pair()
    submit = SubmitField("修改密码")


class AccountForm(FlaskForm):
    username = StringField(
        "用户名", validators=[DataRequired(REQUIRED), Regexp(USERNAME, message="用户名为 3–32 个字母、数字或 _ . -")]
    )
    password, confirm = password_pair()
    roles = role_field()
    organisation = SelectField("所辖组织", validate_choice=False, validators=[Listed()])  # choices: scope_choices
    submit = SubmitField("创建账号")


class RolesForm(FlaskForm):
    roles = role_field()
    submit = SubmitField("保存角色")


class ScopeForm(FlaskForm):
    """The organisation subtree an account is limited to ("" = the whole park); choices: accounts.scope_choices."""

    organisation = SelectField("所辖组织", validate_choice=False, validators=[Listed()])
    submit = SubmitField("保存")


class TicketingForm(FlaskForm):
    """A caseworker's department (tickets.departments) and supervisor (told when their tickets are overdue)."""

    department = SelectField("部门", validate_choice=False, validators=[Listed()])
    supervisor = SelectField("主管", validate_choice=False, validators=[Listed()])
    submit = SubmitField("保存")


class ResetPasswordForm(FlaskForm):
    owner = ""  # the account's username
    password, confirm = password_pair()
    submit = SubmitField("重置密码")


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token (disable, enable, logout, sync)."""

    submit = SubmitField("确定")


class TagForm(FlaskForm):
    name = StringField(
        "标签名", validators=[DataRequired(REQUIRED), Length(max=TAG_NAME_MAX, message="标签名最多 30 个字")]
    )
    submit = SubmitField("新建标签")


class TagMembersForm(FlaskForm):
    """Add or remove one tag on the followers ticked in the list."""

    tag = SelectField("标签", coerce=int, validate_choice=True)
    refs = SelectMultipleField("粉丝", choices=[], validate_choice=False)
    add = SubmitField("添加标签")
    remove = SubmitField("移除标签")
