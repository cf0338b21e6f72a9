import { registry } from "@web/core/registry";

// The field picker of the field mapping ("kommo_field_path"): the path reads as its fields'
// labels, in a read-only row too. 18.0's DynamicModelFieldSelectorChar does that; 19.0's
// "field_selector" shows the technical path when read only, so on 19.0 its component is
// given a template that always shows the picker (read only when the field is).
const fields = registry.category("fields");
const fieldSelector = fields.get("field_selector", null);
if (fieldSelector) {
    class KommoFieldPath extends fieldSelector.component {
        static template = "kommo_connector.KommoFieldPath";
    }
    fields.add("kommo_field_path", { ...fieldSelector, component: KommoFieldPath });
} else {
    fields.add("kommo_field_path", fields.get("DynamicModelFieldSelectorChar"));
}
