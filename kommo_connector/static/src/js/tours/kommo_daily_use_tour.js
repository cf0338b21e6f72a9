import { registry } from "@web/core/registry";
import { screenshot } from "@kommo_connector/js/tours/kommo_tour_screenshot";

// Walked by tests/test_tour_daily_use.py, which prepares a connected account and repair
// orders of customers Kommo has (by phone) or not.

registry.category("web_tour.tours").add("kommo_connector_initial_sync", {
    steps: () => [
        {
            content: "Open the initial sync from the connected account",
            trigger: ".o_form_view .o_form_statusbar button:contains('Initial sync')",
            run: "click",
        },
        {
            content: "All open repair orders are chosen by default",
            trigger: ".modal div[name='scope'] input[data-value='open']:checked",
        },
        {
            content: "Preview",
            trigger: ".modal button[name='action_preview']",
            run: "click",
        },
        {
            content: "The preview counts the leads to create",
            trigger: ".modal div[name='lead_create_count'] span:contains('3')",
        },
        {
            content: "and the customers Kommo has by phone",
            trigger: ".modal div[name='customer_phone_count'] span:contains('1')",
        },
        {
            content: "and the contacts to create",
            trigger: ".modal div[name='contact_create_count'] span:contains('1')",
        },
        {
            content: "and the time it takes",
            trigger: ".modal div[name='duration'] span:contains('s')",
        },
        screenshot("initial_sync_preview", ".modal div[name='call_count']"),
        {
            content: "Start",
            trigger: ".modal button[name='action_start']",
            run: "click",
        },
        {
            content: "Odoo says the orders are queued",
            trigger: ".o_notification:contains('Repair orders queued for Kommo: 3.')",
        },
        {
            content: "Close it: it would hide the status bar in the picture",
            trigger: ".o_notification:contains('Repair orders queued for Kommo: 3.') .o_notification_close",
            run: "click",
        },
        {
            content: "The account shows the orders waiting to be sent",
            trigger: ".o_form_view:not(:has(.modal)) div[name='initial_sync_pending'] span:contains('3')",
        },
        {
            content: "with the progress of the push",
            trigger: ".o_form_view div[name='initial_sync_progress'] .o_progressbar",
        },
        screenshot("account_connected"),
    ],
});

registry.category("web_tour.tours").add("kommo_connector_bulk_sync", {
    steps: () => [
        {
            content: "Open the search options",
            trigger: ".o_control_panel .o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            content: "The Kommo filters are there",
            trigger: ".o_filter_menu .o_menu_item:contains('Kommo: failed')",
        },
        {
            content: "Show the orders not in Kommo",
            trigger: ".o_filter_menu .o_menu_item:contains('Not in Kommo')",
            run: "click",
        },
        screenshot("repair_list_filters", ".o_searchview_facet:contains('Not in Kommo')"),
        {
            content: "Close the search options",
            trigger: ".o_control_panel .o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            content: "Select every order shown",
            trigger: ".o_list_view thead .o_list_record_selector input",
            run: "click",
        },
        {
            content: "Open the Action menu",
            trigger: ".o_control_panel .o_cp_action_menus button:contains('Actions')",
            run: "click",
        },
        screenshot("repair_list_bulk_sync", ".o-dropdown--menu .o_menu_item:contains('Sync with Kommo')"),
        {
            content: "Sync with Kommo",
            trigger: ".o-dropdown--menu .o_menu_item:contains('Sync with Kommo')",
            run: "click",
        },
        {
            content: "One notification sums it up",
            trigger: ".o_notification:contains('3 of 3 repair orders are in Kommo; 0 failed.')",
        },
    ],
});

registry.category("web_tour.tours").add("kommo_connector_failed_banner", {
    steps: () => [
        {
            content: "The failed sync shows on top of the repair order, with Kommo's words",
            trigger: ".o_form_view .o_kommo_banner:contains('Kommo sync failed.'):contains('Plate')",
        },
        {
            content: "The smart button says so too",
            trigger: ".o_form_view .oe_stat_button[name='action_open_kommo_lead']:contains('Error')",
        },
        screenshot("repair_form_banner"),
        {
            content: "Retry",
            trigger: ".o_form_view .o_kommo_banner button[name='action_kommo_retry']",
            run: "click",
        },
        {
            content: "Odoo says the order is in Kommo now",
            trigger: ".o_notification:contains('is up to date in Kommo')",
        },
        {
            content: "The banner is gone",
            trigger: ".o_form_view .oe_stat_button[name='action_open_kommo_lead']:contains('Synced')",
        },
        {
            content: "for good",
            trigger: ".o_form_view:not(:has(.o_kommo_banner:visible))",
        },
    ],
});
