"""What an agent would answer: the built-in knowledge-base backend and OpenAI-compatible models.

`generate()` never sends anything and needs no database: the ai job (keloa_web/agents/jobs.py) and
the "Try it" box call it once the knowledge is retrieved, outside any transaction (`answer()` does
both for one question). It returns either a reply, a hand-off (the agent chose not to guess) or an
error (the model failed), always with the knowledge entries it looked at.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from keloa_web import crypto
from keloa_web.agents.retrieval import Hit, search_parts
from keloa_web.models import Agent, Backend

MAX_REPLY_BYTES = 1000  # Instagram's text limit (UTF-8 bytes)
# The best entry must lead the next one by this much, else the agent does not guess between them
# (calibrated with the threshold on bench/eval: python -m bench.eval.run --calibrate).
MIN_MARGIN = 0.17
HANDOFF_WORD = "HANDOFF"
FRAME = (
    "You answer customers of this business in Instagram Direct Messages. Reply in plain text, "
    "briefly, in the customer's language, under 900 characters. Use only facts from the "
    "instructions and knowledge below. If they do not answer the customer's message, or the "
    f"customer wants a person, reply with exactly {HANDOFF_WORD} and nothing else."
)


@dataclass
class Answer:
    text: str | None = None  # the reply to send
    handoff: str | None = None  # why a human should take over (the agent did not guess)
    error: str | None = None  # why the model could not answer
    hits: list[Hit] = field(default_factory=list)  # knowledge entries retrieved for the message
    # Why the agent answered or handed off, in words an admin reads in "Try it".
    why: str = ""
    # The message's questions, when it holds several: [(text, hits)].
    parts: list[tuple[str, list[Hit]]] = field(default_factory=list)


def trim(text: str, limit: int = MAX_REPLY_BYTES) -> str:
    """Fit `text` into `limit` UTF-8 bytes, cutting at a word boundary and marking the cut."""
    text = text.strip()
    if len(text.encode()) <= limit:
        return text
    cut = text.encode()[: limit - len("…".encode())].decode(errors="ignore")
    if " " in cut[len(cut) // 2:]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-") + "…"


def answer(session: Session, agent: Agent, question: str, history: list[tuple[str, str]] | None = None) -> Answer:
    """Answer `question` (the customer's newest words) given earlier turns of the conversation.

    `history` is [(role, text)] with role "user" (customer) or "assistant" (the business), oldest first.
    """
    question, hits, parts = retrieve(session, agent, question)
    return generate(agent, question, history or [], hits, parts=parts)


def retrieve(session: Session, agent: Agent, question: str, resolved: str | None = None
             ) -> tuple[str, list[Hit], list[tuple[str, list[Hit]]]]:
    """(the question answered, its hits, its parts): the newest question on its own first; read with
    the customer's previous one (`resolved`, keloa_web/agents/context.py) only when alone it finds no
    answer the built-in agent would give."""
    found = search_parts(session, agent.id, question)
    if resolved and verdict(agent, found[0][1])[0] is None:
        again = search_parts(session, agent.id, resolved)
        if verdict(agent, again[0][1])[0] is not None:
            return resolved, again[0][1], []  # one question, continued: not parts to answer one by one
    return question, found[0][1], found[1:]


def generate(agent: Agent, question: str, history: list[tuple[str, str]], hits: list[Hit],
             parts: list[tuple[str, list[Hit]]] | None = None) -> Answer:
    """`answer` once the knowledge is retrieved; needs no database, so no transaction waits on a model.

    `parts` are the message's questions when it holds several, each with its own hits
    (retrieval.search_parts)."""
    if agent.backend == Backend.OPENAI:
        return _openai(agent, question, history, hits)
    return _knowledge_base(agent, hits, parts or [])


def verdict(agent: Agent, hits: list[Hit]) -> tuple[Hit | None, str]:
    """The entry the built-in agent would answer with (or None), and why, in an admin's words."""
    if not hits:
        return None, "No knowledge entry matches this message."
    best = hits[0]
    if best.confidence < agent.min_score:
        return None, (f"The closest knowledge entry (\u201c{best.title}\u201d, score {best.confidence:.2f}) "
                      f"is below this agent's threshold of {agent.min_score:.2f}.")
    if len(hits) > 1 and best.confidence - hits[1].confidence < MIN_MARGIN:
        return None, (f"Two entries match about equally (\u201c{best.title}\u201d {best.confidence:.2f}, "
                      f"\u201c{hits[1].title}\u201d {hits[1].confidence:.2f}): the agent does not guess between "
                      "them.")
    lead = (f", and leads the next entry by at least {MIN_MARGIN:.2f}" if len(hits) > 1
            else "; no other entry comes close")
    return best, (f"\u201c{best.title}\u201d scores {best.confidence:.2f}, at or above the threshold of "
                  f"{agent.min_score:.2f}{lead}.")


def _knowledge_base(agent: Agent, hits: list[Hit], parts: list[tuple[str, list[Hit]]]) -> Answer:
    best, why = verdict(agent, hits)
    if len(parts) > 1:
        answered: list[Hit] = []
        unanswered: list[str] = []
        for text, part_hits in parts:
            hit, _why = verdict(agent, part_hits)
            if hit is None:
                unanswered.append(text)
            elif hit.entry_id not in [h.entry_id for h in answered]:
                answered.append(hit)
        if answered and (len(answered) > 1 or unanswered):
            reply = trim("\n\n".join(hit.body for hit in answered))
            titles = ", ".join(f"\u201c{hit.title}\u201d" for hit in answered)
            if unanswered:
                rest = "; ".join(f"\u201c{text}\u201d" for text in unanswered)
                return Answer(text=reply, hits=answered, parts=parts,
                              handoff=f"The agent answered part of the message from {titles}; no entry answers "
                                      f"{rest}.",
                              why=f"The message asks several things: {titles} "
                                  f"{'answers' if len(answered) == 1 else 'answer'} part of it; {rest} "
                                  f"{'needs' if len(unanswered) == 1 else 'need'} a person.")
            return Answer(text=reply, hits=answered, parts=parts,
                          why=f"The message asks several things, each answered: {titles}.")
    if best is None:
        return Answer(handoff=why, hits=hits, why=why, parts=parts)
    return Answer(text=trim(best.body), hits=[best], why=why, parts=parts)


def build_messages(agent: Agent, question: str, history: list[tuple[str, str]], hits: list[Hit]) -> list[dict]:
    system = FRAME
    if agent.instructions.strip():
        system += "\n\nInstructions from the business:\n" + agent.instructions.strip()
    if hits:
        system += "\n\nKnowledge base entries:\n" + "\n\n".join(
            f"[{n}] {hit.title}\n{hit.body}" for n, hit in enumerate(hits, 1)
        )
    messages = [{"role": "system", "content": system}]
    messages += [{"role": role, "content": text} for role, text in history]
    messages.append({"role": "user", "content": question})
    return messages


def _openai(agent: Agent, question: str, history: list[tuple[str, str]], hits: list[Hit]) -> Answer:
    import openai

    if not agent.base_url or not agent.model:
        return Answer(error="the agent has no model base URL or model name set", hits=hits)
    # Local servers (Ollama, llama.cpp) need no key, but the client insists on one.
    key = crypto.decrypt(agent.api_key_enc) or "not-set"
    client = openai.OpenAI(base_url=agent.base_url, api_key=key, timeout=float(agent.timeout_seconds),
                           max_retries=0)
    try:
        completion = client.chat.completions.create(
            model=agent.model, temperature=agent.temperature,
            messages=build_messages(agent, question, history, hits),
        )
    except openai.APITimeoutError:
        return Answer(error=f"the model did not answer within {agent.timeout_seconds} s", hits=hits)
    except openai.APIStatusError as exc:
        return Answer(error=f"the model server answered HTTP {exc.status_code}", hits=hits)
    except openai.APIConnectionError:
        return Answer(error="the model server could not be reached", hits=hits)
    except openai.OpenAIError as exc:
        return Answer(error=f"the model server's answer could not be read ({type(exc).__name__})", hits=hits)
    finally:
        client.close()
    choices = completion.choices or []
    text = (choices[0].message.content or "").strip() if choices and choices[0].message else ""
    if not text:
        return Answer(error="the model returned an empty answer", hits=hits)
    if text.strip(" .").upper() == HANDOFF_WORD:
        return Answer(handoff="The model could not answer from its instructions and knowledge.", hits=hits)
    return Answer(text=trim(text), hits=hits)
