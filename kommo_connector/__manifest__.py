{
    "name": "Kommo CRM Connector for Repairs",
    "summary": "Repair orders become Kommo leads; Kommo stage changes come back to Odoo",
    "version": "18.0.1.0.0",
    "category": "Inventory/Inventory",
    "website": "https://github.com/kommo-connector/kommo_connector",
    "author": "kommo_connector developers",
    "license": "LGPL-3",
    "depends": ["repair", "mail"],
    "external_dependencies": {"python": ["requests", "phonenumbers"]},
    "data": [],
    "installable": True,
    "application": False,
}
