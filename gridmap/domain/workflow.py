"""The case states of the seven-step closed loop and their Open311
status (DOMAIN.md section 2): report -> file -> dispatch -> handle -> feedback -> verify/close
-> evaluate, plus triage (a person must place or route it) and merged (a duplicate that
follows its master)."""

from __future__ import annotations

# state -> (English, 中文); the order is the loop's
STATES: dict[str, tuple[str, str]] = {
    "reported": ("reported", "信息收集"),
    "triage": ("awaiting triage", "待分拣"),
    "filed": ("filed", "案卷建立"),
    "dispatched": ("dispatched", "任务派遣"),
    "handling": ("being handled", "任务处理"),
    "feedback": ("handled, awaiting verification", "处理反馈"),
    "closed": ("verified and closed", "核查结案"),
    "evaluated": ("evaluated", "综合评价"),
    "merged": ("merged into another issue", "已合并"),
}

# Open311 knows only open and closed: steps 1-5 are open, verified/evaluated are closed.
CLOSED_STATES = frozenset({"closed", "evaluated"})


def open311_status(state: str) -> str:
    return "closed" if state in CLOSED_STATES else "open"
