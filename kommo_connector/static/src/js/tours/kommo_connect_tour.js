import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("kommo_connector_connect", {
    url: "/odoo/settings",
    steps: () => [
        {
            content: "Open the Kommo block of the settings",
            trigger: ".o_setting_box:contains('Kommo connection') .o_kommo_settings_open",
            run: "click",
        },
    ],
});
