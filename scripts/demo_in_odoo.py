"""The demo's set-up inside Odoo. Not run directly: run_demo.py pipes this file into
``odoo-bin shell`` followed by a call ``configure(env, {...settings...})``.

It points the company's Kommo account at the emulator (already connected, with the pipelines
and fields read, the missing fields created and the webhook registered) or at a real Kommo
account, and adds a few Brazilian repair orders to the demo data. Lines starting with
"demo:" are shown to the person running ``make run``; nothing secret is printed.
"""

from datetime import timedelta

from odoo import fields

# (customer, phone, email, vehicle, plate, description) of the demo's repair orders
BR_REPAIRS = (
    (
        "João Pereira",
        "(11) 99123-4567",
        "joao.pereira@example.com",
        "Fiat Argo 1.0 2021",
        "BRA2E19",
        "Barulho na suspensão dianteira ao passar em lombadas.",
    ),
    (
        "Maria Oliveira",
        "+55 21 99876-5432",
        "maria.oliveira@example.com",
        "VW Gol 1.6 2015",
        "RIO4A56",
        "Troca de pastilhas e discos de freio; luz do ABS acesa.",
    ),
    (
        "Carlos Souza",
        "31 3222-1234",
        "carlos.souza@example.com",
        "Chevrolet Onix 1.4 2019",
        "MGS7C89",
        "Revisão dos 60.000 km e ar-condicionado sem gelar.",
    ),
)
DEMO_TAG = "Kommo demo"


def say(message):
    print(f"demo: {message}", flush=True)


def configure(env, settings):
    """Entry point (see the module docstring); ``settings`` comes from run_demo.py."""
    params = env["ir.config_parameter"].sudo()
    params.set_param("web.base.url", settings["base_url"])
    # The OAuth redirect URI and the webhook URL derive from web.base.url: keep it fixed even
    # when someone browses the demo through 127.0.0.1 instead of localhost.
    params.set_param("web.base.url.freeze", "True")
    # A Brazilian shop: its address country makes phones without +55 Brazilian.
    env.company.country_id = env.ref("base.br")
    ensure_br_repairs(env)
    account = ensure_account(env, settings)
    env.cr.commit()  # the token store works in its own transaction: it must see the account
    connect(account, settings)
    env.cr.commit()
    account.invalidate_recordset()
    say(f"Kommo account {account.display_name!r}: {account.state} to {account.host}")
    if account.last_error:
        say(f"last error: {account.last_error}")


def ensure_account(env, settings):
    account = (
        env["kommo.account"]
        .with_context(active_test=False)
        .search([("company_id", "=", env.company.id)], order="active desc, id", limit=1)
    )
    values = {
        "name": settings["account_name"],
        "active": True,
        "host": settings["host"],
        "auth_mode": settings["auth_mode"],
        "client_id": settings.get("client_id") or False,
        "client_secret": settings.get("client_secret") or False,
        "long_lived_token": settings.get("long_lived_token") or False,
    }
    if settings.get("authorize_url"):
        values["authorize_url"] = settings["authorize_url"]
    if not account:
        return env["kommo.account"].create({**values, "company_id": env.company.id})
    changed_target = account.host != values["host"] or account.client_id != values["client_id"]
    if changed_target and account.state != "not_connected":
        account.action_disconnect()
    account.write(values)
    return account


def connect(account, settings):
    """Connect the way the settings ask; the emulator also gets its fields and webhook."""
    mode = settings["connect"]
    if mode == "oauth_code":
        account._kommo_connect_with_code(settings["code"], settings["referer"])
    elif mode == "long_lived":
        account.action_connect()
    else:  # a real OAuth app: the administrator presses Connect and allows it in Kommo
        say("OAuth app saved: press Connect on the Kommo account to allow it in Kommo")
        return
    account.invalidate_recordset()
    if account.state != "connected":
        raise RuntimeError(f"the Kommo account did not connect: {account.last_error or '?'}")
    if not account.pipeline_ids:
        account.action_refresh_metadata()
    say(f"read {len(account.pipeline_ids)} pipeline(s), {len(account.custom_field_ids)} field(s)")
    if settings.get("create_fields"):
        account.action_create_missing_fields()
        say("created the missing Kommo fields (vehicle, plate, order number ...)")
    if settings.get("register_webhook"):
        account.action_register_webhook()
        say(f"webhook registered: Kommo now calls {account.get_base_url()}/kommo/webhook/...")


def ensure_br_repairs(env):
    """Three repair orders of Brazilian customers with vehicles and plates, made once."""
    tag = env["repair.tags"].search([("name", "=", DEMO_TAG)], limit=1)
    if tag:
        return
    tag = env["repair.tags"].create({"name": DEMO_TAG})
    brazil = env.ref("base.br", raise_if_not_found=False)
    for offset, (customer, phone, email, vehicle, plate, notes) in enumerate(BR_REPAIRS):
        partner = env["res.partner"].create(
            {
                "name": customer,
                "phone": phone,
                "email": email,
                "country_id": brazil.id if brazil else False,
            }
        )
        product = env["product.product"].create(
            {"name": vehicle, "type": "consu", "is_storable": True, "tracking": "serial"}
        )
        lot = env["stock.lot"].create(
            {"name": plate, "product_id": product.id, "company_id": env.company.id}
        )
        env["repair.order"].create(
            {
                "partner_id": partner.id,
                "product_id": product.id,
                "lot_id": lot.id,
                "internal_notes": f"<p>{notes}</p>",
                "tag_ids": [(6, 0, tag.ids)],
                "schedule_date": fields.Datetime.now() + timedelta(days=offset + 1),
            }
        )
    say(f"added {len(BR_REPAIRS)} repair orders of Brazilian customers (tag {DEMO_TAG!r})")
