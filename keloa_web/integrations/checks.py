"""The checks run when an admin picks a Page, before anything is saved: each says what to do."""
from __future__ import annotations

from dataclasses import dataclass

from keloa_web.integrations.meta import PageInfo


@dataclass
class Problem:
    title: str
    detail: str
    fix: str
    ask_again: bool = False  # offer the dialog again with auth_type=rerequest


def scopes_problem(missing: list[str]) -> Problem | None:
    if not missing:
        return None
    return Problem(
        "Permissions declined",
        f"Keloa needs permissions that were not granted in the Meta dialog: {', '.join(missing)}.",
        "Choose \"Ask again\" and leave every permission ticked. Keloa only reads and answers Direct "
        "Messages and subscribes the Page to message notifications.",
        ask_again=True,
    )


def page_problem(page_id: str, pages: list[PageInfo]) -> Problem | None:
    """Why this Page cannot be connected by this Meta user, or None when it can."""
    page = next((p for p in pages if p.id == page_id), None)
    if page is None:
        return Problem(
            "Missing permissions",
            "This Page is not among the Pages your Meta account shared with Keloa, or you no longer "
            "have a role on it.",
            "Ask for admin access to the Page, or have an admin connect it. If you do have access, "
            "choose \"Ask again\" and tick this Page in the Meta dialog.",
            ask_again=True,
        )
    if not page.can_message:
        tasks = ", ".join(page.tasks) or "none"
        return Problem(
            "Missing permissions",
            f"Meta lets Keloa answer {page.name}'s messages only for someone whose role on the Page "
            f"includes both Messages and Community activity. Yours lacks {' and '.join(page.missing_tasks)} "
            f"(your tasks: {tasks}).",
            "Ask for admin access to the Page (or a role with Messages and Community activity), or have an "
            "admin connect it.",
        )
    if page.consumer_ig_id:
        return Problem(
            "Personal Instagram account",
            f"The Instagram account linked to {page.name} is a personal account. Meta only lets apps "
            "read and send Direct Messages for professional accounts.",
            "In the Instagram app: Settings → Account type and tools → Switch to professional account "
            "(Business or Creator). Then connect again. Nothing changes for your followers.",
        )
    if not page.ig_id:
        return Problem(
            "No Instagram account linked",
            f"{page.name} has no Instagram professional account linked to it.",
            "Link one: in the Instagram app, Settings → Accounts Center → Accounts → Add Facebook "
            "Page, or in Meta Business Suite, Settings → Instagram accounts → Connect. Then connect again.",
        )
    return None
