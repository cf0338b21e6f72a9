"""What differs between the Odoo series the addon installs on (18.0 and 19.0), in one place.

Everything else in the addon is written once, in the form both series accept. When 18.0 is
dropped, each name here is replaced by what it stands for on 19.0 and this module goes.
"""

from odoo import models, release

ODOO_MAJOR = release.version_info[0]

# The groups of a user, a menu, an action or a view: ``groups_id`` until 18.0, ``group_ids``
# from 19.0 (res.users, ir.ui.menu, ir.actions.*, ir.ui.view alike).
GROUPS_FIELD = "group_ids" if ODOO_MAJOR >= 19 else "groups_id"

# The users of a group: ``users`` until 18.0, ``user_ids`` from 19.0.
GROUP_USERS_FIELD = "user_ids" if ODOO_MAJOR >= 19 else "users"

# res.partner's phone numbers: 19.0 dropped ``mobile`` (one ``phone`` per contact).
PARTNER_PHONE_FIELDS = ("phone",) if ODOO_MAJOR >= 19 else ("mobile", "phone")


class _SqlConstraint:
    """18.0's form of ``models.Constraint``: declared as a class attribute the way 19.0 wants
    it (``_name_uniq = Constraint("UNIQUE(a, b)", "message")``), it adds itself to the class's
    ``_sql_constraints`` under the same name, so the database constraint is the same
    ``<table>_name_uniq`` on both series (a database upgraded from 18.0 keeps it)."""

    def __init__(self, definition, message=""):
        self.definition = definition
        self.message = message

    def __set_name__(self, owner, name):
        assert name.startswith("_"), "a constraint is a private class attribute"
        # Own list of the declaring class: Odoo 18 reads cls.__dict__["_sql_constraints"].
        if "_sql_constraints" not in owner.__dict__:
            owner._sql_constraints = []
        owner._sql_constraints.append((name[1:], self.definition, self.message))


Constraint = models.Constraint if ODOO_MAJOR >= 19 else _SqlConstraint


def report_cron_progress(env, done, remaining):
    """Tell the cron that runs this method how much it did (``done``) and what is left
    (``remaining``): Odoo runs it again soon while something is left. Call it last, as the
    cron methods' final step.

    18.0: ``ir.cron._notify_progress(done=, remaining=)`` records it, and does nothing outside
    a cron run. 19.0 deprecates that for ``_commit_progress(processed, remaining=)``, which
    adds ``processed`` to the run's count (one progress record per run, starting at 0: the
    same numbers) and also commits the transaction, even outside a cron run.

    The commit is acceptable in a cron run only, and only as the last step: the runner
    commits right after the method returns anyway (as it did on 18.0), so nothing is
    committed that would not have been, and nothing earlier. Elsewhere (a test, a method
    called from a button, the push of a few orders) it would commit the caller's transaction
    half-way, so there, as on 18.0, nothing is recorded and nothing committed.
    """
    if ODOO_MAJOR < 19:
        env["ir.cron"]._notify_progress(done=done, remaining=remaining)
    elif env.context.get("ir_cron_progress_id"):
        env["ir.cron"]._commit_progress(done, remaining=remaining)


def partner_phones(partner):
    """The partner's phone numbers as typed, the mobile first where the series has one."""
    return [partner[name] for name in PARTNER_PHONE_FIELDS]
