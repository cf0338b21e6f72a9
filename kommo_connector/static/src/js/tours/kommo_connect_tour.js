import { registry } from "@web/core/registry";
import { screenshot } from "@kommo_connector/js/tours/kommo_tour_screenshot";

// Walked by tests/test_tour_connect.py, which registers this integration with the Kommo
// emulator and presses Allow on the emulator's authorize page (another origin: a tour step
// cannot run there).
const INTEGRATION_ID = "odoo-tour-integration";
const SECRET_KEY = "odoo-tour-secret-key";

registry.category("web_tour.tours").add("kommo_connector_connect", {
    url: "/odoo/settings",
    steps: () => [
        {
            content: "Open the Kommo settings",
            trigger: ".settings_tab .tab[data-key='kommo_connector']",
            run: "click",
        },
        {
            content: "Connect: the account is not set up yet, so its form opens",
            trigger:
                ".app_settings_block[data-key='kommo_connector'] button[name='action_kommo_connect']",
            run: "click",
        },
        {
            content: "Paste the integration ID from Kommo",
            trigger: ".o_form_view div[name='client_id'] input",
            run: `edit ${INTEGRATION_ID}`,
        },
        {
            content: "Paste the secret key from Kommo",
            trigger: ".o_form_view div[name='client_secret'] input",
            run: `edit ${SECRET_KEY}`,
        },
        screenshot("account_not_connected", ".o_form_view .o_kommo_setup_steps"),
        {
            content: "Connect: off to Kommo's authorize page",
            trigger: ".o_form_view .o_form_statusbar button[name='action_connect']",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Back from Kommo: the account is connected",
            trigger: ".o_form_view .alert-success:contains('Oficina Demo')",
        },
        {
            content: "The status bar says so too",
            trigger: ".o_form_view .o_statusbar_status .o_arrow_button_current:contains('Connected')",
        },
    ],
});
