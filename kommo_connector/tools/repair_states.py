"""How the repair module's buttons move an order between its states: the way Odoo follows a
lead Kommo moved (``kommo.inbound``), as a person would press them."""

# The way the repair module's buttons take an order forward, and the button that reaches
# each state from the one before it.
FORWARD_STATES = ("draft", "confirmed", "under_repair", "done")
FORWARD_ACTIONS = {
    "confirmed": "action_validate",
    "under_repair": "action_repair_start",
    "done": "action_repair_end",
}


def repair_actions(current, target):
    """The repair.order methods that take an order from ``current`` to ``target`` as its
    buttons do (confirm, start, end; cancel; set a cancelled order back to new), in order;
    None when the buttons offer no way (backwards, or out of a finished order)."""
    if target == "cancel":
        return None if current in ("done", "cancel") else ["action_repair_cancel"]
    if target == "draft":
        return ["action_repair_cancel_draft"] if current == "cancel" else None
    if current in FORWARD_STATES and target in FORWARD_STATES:
        start, end = FORWARD_STATES.index(current), FORWARD_STATES.index(target)
        if end > start:
            return [FORWARD_ACTIONS[state] for state in FORWARD_STATES[start + 1 : end + 1]]
    return None
