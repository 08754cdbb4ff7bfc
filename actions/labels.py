"""Short labels of ticket types and statuses used inside status lines."""

from __future__ import annotations

TYPE_LABELS = {
    "unsubscribe_marketing": ("退订营销信息", "unsubscribe from marketing"),
    "withdraw_consent": ("撤回同意", "consent withdrawal"),
    "cancel_account": ("注销账号", "account cancellation"),
    "access_copy": ("查阅/复制个人信息", "access / copy"),
    "rectification": ("更正个人信息", "rectification"),
    "deletion": ("删除个人信息", "deletion"),
    "portability": ("转移个人信息", "portability"),
    "decision_explanation": ("自动化决策说明", "explanation of an automated decision"),
    "complaint": ("投诉", "complaint"),
    "status": ("查询办理进度", "status check"),
}

STATUS_LABELS = {
    "received": ("已受理", "received"),
    "in_progress": ("处理中", "in progress"),
    "awaiting_customer": ("待您补充信息", "waiting for you"),
    "completed": ("已完成", "completed"),
    "refused": ("已拒绝", "refused"),
    "withdrawn": ("已撤回", "withdrawn"),
}


def label(table: dict[str, tuple[str, str]], key: str, lang: str | None) -> str:
    pair = table.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "en" else pair[0]
