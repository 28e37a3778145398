"""Forms of the agents area."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from wtforms import BooleanField, FloatField, IntegerField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from keloa_web.models import Backend

BACKEND_CHOICES = [
    SelectChoice(Backend.KNOWLEDGE_BASE, "Built-in knowledge base (offline: answers with the best matching entry)"),
    SelectChoice(Backend.OPENAI, "OpenAI-compatible chat model (OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp)"),
]


def _http_url(_form, field) -> None:
    if not field.data:
        return
    parts = urlsplit(field.data.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError("Enter the server's base URL, starting with http:// or https:// "
                              "(e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1).")


class NewAgentForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the agent a name."), Length(max=120)])


class AgentForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the agent a name."), Length(max=120)])
    instructions = TextAreaField(
        "Instructions", description="Tone, what it may and may not say. Sent to chat models as the system prompt.",
        validators=[Length(max=8000)])
    handoff_keywords = TextAreaField(
        "Hand-off keywords", description="Comma-separated words or phrases meaning \u201cthe customer wants a "
        "human\u201d. When a message contains one, the AI stays quiet and flags the conversation.",
        validators=[Length(max=2000)])
    quiet_minutes = IntegerField(
        "Quiet after a teammate replies (minutes)", default=30,
        validators=[InputRequired("Enter a number of minutes (0 to never wait)."),
                    NumberRange(0, 7 * 24 * 60, "Between 0 and 10080 minutes (7 days).")])
    min_score = FloatField(
        "Answer threshold (0\u20131)", default=0.5,
        description="How much of the customer's question the best knowledge entry must cover before the "
        "built-in agent answers with it. Higher: fewer but safer answers. \u201cTry it\u201d shows the scores.",
        validators=[InputRequired("Enter a number between 0 and 1."), NumberRange(0, 1, "Between 0 and 1.")])
    disclose = BooleanField("Say it is automated in its first reply to each customer", default=True,
                            description="Where the law requires it (and Meta asks for it), a customer must be "
                            "told they are talking to an automated service.")
    disclosure_text = TextAreaField(
        "Disclosure", description="{agent} and {account} are filled in. Empty: the default sentence.",
        validators=[Length(max=300, message="Keep the disclosure under 300 characters.")])
    backend = SelectField("Backend", choices=BACKEND_CHOICES, default=Backend.KNOWLEDGE_BASE)
    base_url = StringField("Base URL", validators=[Optional(), Length(max=500), _http_url])
    model = StringField("Model", validators=[Optional(), Length(max=200)])
    api_key = PasswordField("API key", validators=[Optional(), Length(max=500)])
    clear_api_key = BooleanField("Remove the stored API key")
    temperature = FloatField("Temperature", default=0.3, validators=[
        InputRequired("Enter a temperature between 0 and 2."), NumberRange(0, 2, "Between 0 and 2.")])
    timeout_seconds = IntegerField("Timeout (seconds)", default=20, validators=[
        InputRequired("Enter a timeout in seconds."), NumberRange(1, 120, "Between 1 and 120 seconds.")])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.backend.data == Backend.OPENAI:
            if not (self.base_url.data or "").strip() and not self.base_url.errors:
                self.base_url.errors.append("A chat model needs its server's base URL.")
                ok = False
            if not (self.model.data or "").strip():
                self.model.errors.append("A chat model needs a model name (e.g. gpt-4o-mini or llama3.1).")
                ok = False
        return ok


MAX_EXAMPLES = 20


class EntryForm(FlaskForm):
    title = StringField("Title or question", validators=[DataRequired("Give the entry a title or question."),
                                                         Length(max=300)])
    body = TextAreaField("Answer or article", validators=[DataRequired("Write the answer or article text."),
                                                          Length(max=20000)])
    examples = TextAreaField(
        "Example questions (optional)",
        description="Other ways customers ask for this answer, one per line: \u201chow much is postage\u201d, "
                    "\u201cdo u ship to the us\u201d. The agent matches them too.",
        validators=[Optional(), Length(max=5000, message="Keep the example questions under 5,000 characters.")])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        lines = [line.strip() for line in (self.examples.data or "").splitlines() if line.strip()]
        if len(lines) > MAX_EXAMPLES:
            self.examples.errors.append(f"Up to {MAX_EXAMPLES} example questions: this has {len(lines)}.")
            ok = False
        long = next((line for line in lines if len(line) > 300), None)
        if long is not None:
            self.examples.errors.append(f"One question per line, each under 300 characters "
                                        f"(\u201c{long[:40]}\u2026\u201d is longer).")
            ok = False
        return ok

    @property
    def example_text(self) -> str:
        return "\n".join(line.strip() for line in (self.examples.data or "").splitlines() if line.strip())


class TryForm(FlaskForm):
    message = TextAreaField("A customer writes\u2026", validators=[
        DataRequired("Type a sample customer message."), Length(max=1000)])
