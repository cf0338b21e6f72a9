"""Starting data: what every Kommo account has, and the "demo" repair-shop account."""

from .book import FIXTURE
from .cfields import create_field
from .contacts import ContactBook
from .leads import LeadBook
from .pipelines import add_pipeline
from .store import Store

# Deterministic credentials of the demo integration, so a demo Odoo can be preconfigured.
DEMO_CLIENT_ID = "6b0c7d2e-5f1a-4c3b-9d8e-0a1b2c3d4e5f"
DEMO_CLIENT_SECRET = "demo-secret-" + "0123456789abcdef" * 3 + "0123"
DEMO_ACCOUNT = {"name": "Oficina Demo", "subdomain": "demo"}

PHONE_ENUMS = ("WORK", "WORKDD", "MOB", "FAX", "HOME", "OTHER")
EMAIL_ENUMS = ("WORK", "PRIV", "OTHER")


def make_account(account_id: int, subdomain: str, name: str, created_at: int) -> dict:
    return {
        "id": account_id,
        "name": name,
        "subdomain": subdomain,
        "created_at": created_at,
        "created_by": 0,
        "updated_at": created_at,
        "updated_by": 0,
        "current_user_id": 9_000_001,
        "country": "BR",
        "customers_mode": "disabled",
        "is_unsorted_on": False,
        "is_loss_reason_enabled": False,
        "is_helpbot_enabled": False,
        "is_technical_account": False,
        "contact_name_display_order": 1,
        "currency": "BRL",
        "currency_symbol": "R$",
        "version": 19,
        "amojo_id": f"{account_id:08d}-0000-4000-8000-000000000000",
    }


def _predefined(store: Store, entity: str, name: str, kind: str, *, code: str, enums=()) -> dict:
    spec = {"name": name, "type": kind, "code": code, "is_predefined": True}
    if enums:
        spec["enums"] = [{"value": value, "sort": (i + 1) * 2} for i, value in enumerate(enums)]
    return create_field(store, entity, spec)


def seed_contact_fields(store: Store) -> None:
    """The contact fields every Kommo account has (multitext PHONE / EMAIL, text POSITION)."""
    _predefined(store, "contacts", "Position", "text", code="POSITION")
    _predefined(store, "contacts", "Phone", "multitext", code="PHONE", enums=PHONE_ENUMS)
    _predefined(store, "contacts", "Email", "multitext", code="EMAIL", enums=EMAIL_ENUMS)


def seed_base(store: Store) -> None:
    seed_contact_fields(store)
    add_pipeline(
        store,
        "Sales pipeline",
        ("Incoming leads", "Contact made", "Negotiation", "Decision making"),
        is_main=True,
    )


DEMO_CONTACTS = (
    ("Maria Silva", ("+55 (11) 98765-4321",), ("maria.silva@example.com",)),
    ("João Pereira", ("11 91234-5678",), ()),
    ("Ana Costa", ("(21) 3456-7890", "+5521987650001"), ("ana@oficina.example",)),
    ("Carlos Souza", ("5531999887766",), ("carlos.souza@example.net",)),
    ("Fernanda Lima", ("+55 41 99876 5432",), ()),
    ("Oficina Parceira Ltda", ("0800 123 4567",), ("contato@parceira.example",)),
)


def seed_demo(store: Store, leads: LeadBook, contacts: ContactBook) -> None:
    """Pipeline "Oficina", a select "Status da OS", Brazilian contacts and two leads. There are
    deliberately no Vehicle / Plate / Order number fields: the connector must create them."""
    seed_contact_fields(store)
    oficina = add_pipeline(
        store,
        "Oficina",
        ("Novo", "Diagnóstico", "Em reparo", "Pronto para retirada"),
        is_main=True,
        won_name="Venda ganha",
        lost_name="Venda perdida",
    )
    status_field = create_field(
        store,
        "leads",
        {
            "name": "Status da OS",
            "type": "select",
            "enums": [
                {"value": value}
                for value in ("Aberta", "Aguardando peças", "Em execução", "Concluída", "Cancelada")
            ],
        },
    )
    create_field(store, "leads", {"name": "Técnico responsável", "type": "text"})
    create_field(store, "leads", {"name": "Data prevista de entrega", "type": "date"})
    made = [contacts.add_simple(name, phones, emails) for name, phones, emails in DEMO_CONTACTS]
    stages = list(oficina["statuses"])
    demo_leads = (("Troca de óleo", 250), ("Revisão de freios", 890))
    leads.create(
        [
            {
                "name": title,
                "price": price,
                "pipeline_id": oficina["id"],
                "status_id": stages[index],
                "custom_fields_values": [
                    {
                        "field_id": status_field["id"],
                        "values": [{"enum_id": status_field["enums"][index]["id"]}],
                    }
                ],
                "_embedded": {"contacts": [{"id": made[index]["id"]}]},
            }
            for index, (title, price) in enumerate(demo_leads)
        ],
        FIXTURE,
    )
