"""Forms for signing in, creating the owner and accepting an invitation."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError


def one_line(_form, field) -> None:
    """A name is one line of printable text (it goes into email headers and every page)."""
    if field.data and any(ord(c) < 0x20 or 0x7f <= ord(c) < 0xa0 or c in "\u2028\u2029" for c in field.data):
        raise ValidationError("Use letters, digits and punctuation on one line.")


NAME_CHECKS = [DataRequired(message="Enter your name."), Length(max=120), one_line]


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class _NewPassword:
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(min=10, max=200, message="Use at least 10 characters.")]
    )
    confirm = PasswordField("Repeat password", validators=[DataRequired(), EqualTo("password", "Passwords differ.")])


class SetupForm(_NewPassword, FlaskForm):
    name = StringField("Your name", validators=NAME_CHECKS)
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])


class AcceptInviteForm(_NewPassword, FlaskForm):
    name = StringField("Your name", validators=NAME_CHECKS)


class ChangePasswordForm(_NewPassword, FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=200)])
    password = PasswordField(
        "New password", validators=[DataRequired(), Length(min=10, max=200, message="Use at least 10 characters.")]
    )
