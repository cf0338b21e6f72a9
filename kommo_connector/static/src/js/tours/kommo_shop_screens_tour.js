import { registry } from "@web/core/registry";

// Walked by tests/test_tour_shop_screens.py, which prepares a connected account, a bound
// repair order, sync log rows and webhook deliveries.

registry.category("web_tour.tours").add("kommo_connector_field_map", {
    steps: () => [
        {
            content: "Open the field mapping of the Kommo account",
            trigger: ".o_notebook a[name='field_mapping']",
            run: "click",
        },
        {
            content: "The vehicle's field reads as the labels of the picked path",
            trigger:
                "div[name='field_map_ids'] .o_model_field_selector_chain_part:contains('Product to Repair')",
        },
        {
            content: "The Kommo field type is in words",
            trigger: "div[name='field_map_ids'] td[name='custom_field_type']:contains('List (one option)')",
        },
        {
            content: "Edit the plate's line",
            trigger:
                "div[name='field_map_ids'] tr:has(.o_model_field_selector_chain_part:contains('Lot/Serial Number')) td[name='odoo_field_path']",
            run: "click",
        },
        {
            content: "Open the field picker",
            trigger: ".o_selected_row td[name='odoo_field_path'] .o_model_field_selector",
            run: "click",
        },
        {
            content: "Pick the serial number's internal reference instead",
            trigger:
                ".o_model_field_selector_popover li[data-name='ref'] .o_model_field_selector_popover_item_name",
            run: "click",
        },
        {
            content: "The line shows the picked path",
            trigger: ".o_selected_row .o_model_field_selector_chain_part:contains('Internal Reference')",
        },
        {
            content: "Save the account",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "Saved",
            trigger: ".o_form_status_indicator_buttons.invisible:not(:visible)",
        },
        {
            content: "Open the options of the status",
            trigger:
                "div[name='field_map_ids'] tr:has(.o_model_field_selector_chain_part:contains('Status')) button[name='action_edit_value_map']",
            run: "click",
        },
        {
            content: "The option lines name the statuses as people read them",
            trigger: ".modal div[name='value_map_ids'] td[name='odoo_value_label']:contains('Repaired')",
        },
        {
            content: "Propose options",
            trigger: ".modal button[name='action_propose_value_lines']",
            run: "click",
        },
        {
            content: "Odoo says what it matched and what it did not",
            trigger: ".o_notification:contains('No Kommo option is named like')",
        },
        {
            content: "The dialog stays open on the lines",
            trigger: ".modal div[name='value_map_ids'] td[name='odoo_value_label']:contains('New')",
        },
    ],
});

registry.category("web_tour.tours").add("kommo_connector_sync_log", {
    steps: () => [
        {
            content: "Operations read in words",
            trigger: ".o_list_view td[name='operation_label']:contains('Send diagnosis notes')",
        },
        {
            content: "A link to the lead in Kommo",
            trigger: ".o_list_view td[name='kommo_url'] a:contains('Open in Kommo')",
        },
        {
            content: "A call about no lead has no Kommo link",
            trigger:
                ".o_list_view tr:has(td[name='operation_label']:contains('Read pipelines')) td[name='kommo_url']:not(:has(a))",
        },
        {
            content: "A refusal is styled apart from a failure",
            trigger: ".o_list_view td[name='outcome'] .text-bg-warning:contains('Refused')",
        },
        {
            content: "The error is one short line in the list",
            trigger: ".o_list_view td[name='error_summary']:contains('…')",
        },
        {
            content: "Open the row about the order",
            trigger: ".o_list_view tr:has(td[name='operation_label']:contains('Send diagnosis notes')) td[name='create_date']",
            run: "click",
        },
        {
            content: "The form links to the repair order",
            trigger: ".o_form_view div[name='record_ref'] a",
        },

    ],
});

registry.category("web_tour.tours").add("kommo_connector_webhooks", {
    steps: () => [
        {
            content: "The webhooks open on what needs attention",
            trigger: ".o_searchview_facet:contains('Needs attention')",
        },
        {
            content: "Ignored news is not in the way",
            trigger: ".o_list_view:not(:has(td:contains('Lead 4242')))",
        },
        {
            content: "A failed delivery reads as what happened in Kommo",
            trigger: ".o_list_view td[name='title']:contains('moved to Em reparo')",
            run: "click",
        },
        {
            content: "It can be processed again",
            trigger: ".o_form_view .o_form_statusbar button[name='action_process_again']",
        },
        {
            content: "It links to its repair order",
            trigger: ".o_form_view div[name='repair_id'] a",
        },
        {
            content: "Open the delivery",
            trigger: ".o_notebook a[name='body']",
            run: "click",
        },
        {
            content: "The delivery is a table of keys and values",
            trigger: "div[name='body_table'] table td code:contains('leads[status][0][status_id]')",
        },

    ],
});
