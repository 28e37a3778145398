"""Forms for signing in, creating the owner and accepting an invitation."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class _NewPassword:
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(min=10, max=200, message="Use at least 10 characters.")]
    )
    confirm = PasswordField("Repeat password", validators=[DataRequired(), EqualTo("password", "Passwords differ.")])


class SetupForm(_NewPassword, FlaskForm):
    name = StringField("Your name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])


class AcceptInviteForm(_NewPassword, FlaskForm):
    name = StringField("Your name", validators=[DataRequired(), Length(max=120)])


class ChangePasswordForm(_NewPassword, FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=200)])
    password = PasswordField(
        "New password", validators=[DataRequired(), Length(min=10, max=200, message="Use at least 10 characters.")]
    )
