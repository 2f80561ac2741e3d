#!/usr/bin/env python3
"""Writes data/pipelines/{microsoft_xdr,sentinel_asim,azure_monitor}.yml: the table, field and
value facts of pySigma-backend-kusto 1.0.1 (as installed in the oracle venv), as sigwiki's own
pipeline files in pySigma's YAML pipeline format plus sigwiki's `kusto_*` custom transformation
types (src/pipeline/kusto.rs).

Run with the oracle venv's Python:
    ~/.cache/sigma-oracle/venv-pysigma/bin/python scripts/kusto_pipelines.py

Only data (dictionaries of table names, field names and values) is read from the package; the
item list below is sigwiki's description of what each pipeline does, in order.
"""
import json
import pathlib

from sigma.pipelines.kusto_common.mappings import EVENTID_CATEGORIES
from sigma.pipelines.microsoftxdr import mappings as xdr_map
from sigma.pipelines.microsoftxdr.tables import MICROSOFT_XDR_TABLES
from sigma.pipelines.sentinelasim import mappings as asim_map
from sigma.pipelines.sentinelasim.tables import SENTINEL_ASIM_TABLES
from sigma.pipelines.azuremonitor import mappings as az_map
from sigma.pipelines.azuremonitor.tables import AZURE_MONITOR_TABLES

OUT = pathlib.Path(__file__).resolve().parent.parent / "data" / "pipelines"


def q(s):
    """A YAML scalar: JSON quoting is valid YAML and keeps every character as it is."""
    return json.dumps(s) if not isinstance(s, int) else str(s)


def flow(items):
    return "[" + ", ".join(q(i) for i in items) + "]"


class Writer:
    def __init__(self):
        self.lines = []

    def __call__(self, text=""):
        self.lines.append(text)

    def text(self):
        return "\n".join(self.lines) + "\n"


def header(w, name, title):
    w(f"# Built-in pipeline `{name}` of sigwiki, in pySigma's pipeline file format.")
    w("# SOURCE: the table, field-name and value facts of pySigma-backend-kusto 1.0.1 (LGPL-2.1),")
    w("# written out as data by sigwiki (scripts/kusto_pipelines.py); see data/pipelines/README.md.")
    w("# `kusto_*` types are sigwiki's custom transformations for these pipelines (src/pipeline/kusto.rs).")
    w(f"name: {q(title)}")
    w("priority: 10")
    w("allowed_backends:")
    w("- kusto")
    w("transformations:")


def set_table(w, prefix, category_map, eventid_map):
    w(f"- id: {prefix}_set_query_table")
    w("  type: kusto_set_query_table")
    w("  category_to_table:")
    for k, v in category_map.items():
        w(f"    {k}: {q(v)}")
    w("  event_id_category_to_table:")
    for k, v in eventid_map.items():
        w(f"    {k}: {q(v)}")
    w("  event_id_categories:")
    for k, v in EVENTID_CATEGORIES.items():
        w(f"    {k}: {flow(v)}")


def drop_fields(w, ident, fields):
    w(f"- id: {ident}")
    w("  type: drop_detection_item")
    w("  field_name_conditions:")
    w("  - type: include_fields")
    w(f"    fields: {flow(fields)}")


def table_mappings(w, prefix, mappings):
    for table, mapping in mappings.table_mappings.items():
        w(f"- id: {prefix}_table_fieldmappings")
        w("  type: field_name_mapping")
        w("  mapping:")
        for k, v in mapping.items():
            w(f"    {q(k)}: {flow(v) if isinstance(v, list) else q(v)}")
        w("  rule_conditions:")
        w("  - type: processing_state")
        w("    key: query_table")
        w(f"    val: {q(table)}")


def generic_mapping(w, prefix, mappings):
    if not mappings.generic_mappings:
        return
    w(f"- id: {prefix}_generic_fieldmappings")
    w("  type: field_name_mapping")
    w("  mapping:")
    for k, v in mappings.generic_mappings.items():
        w(f"    {q(k)}: {q(v)}")
    w("  detection_item_conditions:")
    w("  - type: processing_item_applied")
    w(f"    processing_item_id: {prefix}_table_fieldmappings")
    w("  detection_item_cond_op: or")
    w("  detection_item_cond_not: true")


def replace(w, ident, regex, replacement, fields):
    w(f"- id: {ident}")
    w("  type: replace_string")
    w(f"  regex: {q(regex)}")
    w(f"  replacement: {q(replacement)}")
    w("  field_name_conditions:")
    w("  - type: include_fields")
    w(f"    fields: {flow(fields)}")


REGISTRY_KEYS = [
    ("currentcontrolset", r"(?i)(^HKLM\\SYSTEM\\CurrentControlSet)", r"HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet001"),
    ("hklm", r"(?i)(^HKLM)", r"HKEY_LOCAL_MACHINE"),
    ("hku", r"(?i)(^HKU)", r"HKEY_USERS"),
    ("hkcr", r"(?i)(^HKCR)", r"HKEY_LOCAL_MACHINE\\CLASSES"),
]

# Sysmon registry EventType -> DeviceRegistryEvents ActionType values.
REGISTRY_ACTION_TYPES = {
    "CreateKey": "RegistryKeyCreated",
    "DeleteKey": ["RegistryKeyDeleted", "RegistryValueDeleted"],
    "SetValue": "RegistryValueSet",
    "RenameKey": ["RegistryValueSet", "RegistryKeyCreated"],
}


def registry_action(w, ident, field):
    w(f"- id: {ident}")
    w("  type: map_string")
    w("  mapping:")
    for k, v in REGISTRY_ACTION_TYPES.items():
        w(f"    {k}: {flow(v) if isinstance(v, list) else q(v)}")
    w("  field_name_conditions:")
    w("  - type: include_fields")
    w(f"    fields: [{field}]")


def hashes(w, ident, field, algos, prefix, drop_prefix, table=None, table_not=False):
    w(f"- id: {ident}")
    w("  type: kusto_hashes_values")
    w(f"  valid_hash_algos: {flow(algos)}")
    w(f"  field_prefix: {q(prefix)}")
    w(f"  drop_algo_prefix: {'true' if drop_prefix else 'false'}")
    w("  field_name_conditions:")
    w("  - type: include_fields")
    w(f"    fields: [{field}]")
    if table:
        w("  rule_conditions:")
        w("  - type: processing_state")
        w("    key: query_table")
        w(f"    val: {q(table)}")
        if table_not:
            w("  rule_cond_not: true")


def drop_initiated(w, ident):
    w(f"- id: {ident}")
    w("  type: drop_detection_item")
    w("  field_name_conditions:")
    w("  - type: include_fields")
    w("    fields: [Initiated]")
    w("  rule_conditions:")
    w("  - type: logsource")
    w("    category: network_connection")


def rule_failure(w, prefix, label):
    w(f"- id: {prefix}_unsupported_rule_category_or_missing_query_table")
    w("  type: rule_failure")
    w(f"  message: {q(f'Rule category not yet supported by the {label} pipeline or query_table is not set.')}")
    w("  rule_conditions:")
    w("  - type: processing_item_applied")
    w(f"    processing_item_id: {prefix}_set_query_table")
    w("  - type: processing_state")
    w("    key: query_table")
    w("    val: null")


def field_check(w, prefix, tables, mappings, word):
    """Fields each table takes: its schema's columns and the table mapping's keys; every table
    also takes the generic mapping's keys and `Hashes`."""
    w(f"- id: {prefix}_unsupported_fields")
    w("  type: kusto_field_check")
    w("  message: " + q(
        "Please use valid fields for the {table} table, or the following fields that have "
        + word + " in this pipeline:\n{fields}"))
    w(f"  all_tables: {flow(list(mappings.generic_mappings.keys()) + ['Hashes'])}")
    w("  tables:")
    for table, fields in tables.items():
        own = list(fields.keys()) + list(mappings.table_mappings.get(table, {}).keys())
        w(f"    {q(table)}: {flow(own)}")
    w("  rule_conditions:")
    w("  - type: processing_item_applied")
    w(f"    processing_item_id: {prefix}_set_query_table")


def microsoft_xdr():
    w = Writer()
    p = "microsoft_xdr"
    header(w, p, "Generic Log Sources to Windows XDR tables and fields")
    set_table(w, p, xdr_map.CATEGORY_TO_TABLE_MAPPINGS, xdr_map.EVENTID_CATEGORY_TO_TABLE_MAPPINGS)
    drop_fields(w, f"{p}_drop_eventid", ["EventID", "EventCode", "ObjectType"])
    table_mappings(w, p, xdr_map.MICROSOFT_XDR_FIELD_MAPPINGS)
    generic_mapping(w, p, xdr_map.MICROSOFT_XDR_FIELD_MAPPINGS)
    # The tables have no parent folder path: a parent image outside process creation becomes the
    # parent's file name.
    not_process_creation = [
        "  rule_conditions:",
        "  - type: logsource",
        "    category: process_creation",
        "  rule_cond_not: true",
    ]
    w(f"- id: {p}_parent_image_fieldmapping")
    w("  type: field_name_mapping")
    w("  mapping:")
    w("    ParentImage: InitiatingProcessParentFileName")
    for line in not_process_creation:
        w(line)
    w(f"- id: {p}_parent_image_name_value")
    w("  type: kusto_parent_image_name")
    w("  field_name_conditions:")
    w("  - type: include_fields")
    w("    fields: [InitiatingProcessParentFileName]")
    for line in not_process_creation:
        w(line)
    for name, regex, replacement in REGISTRY_KEYS:
        replace(w, f"{p}_registry_key_replace_{name}", regex, replacement, ["RegistryKey", "PreviousRegistryKey"])
    registry_action(w, f"{p}_registry_actiontype_value", "ActionType")
    w(f"- id: {p}_domain_username_extract")
    w("  type: kusto_split_domain_user")
    w("  domain_fields:")
    w("    AccountName: AccountDomain")
    w("    RequestAccountName: RequestAccountDomain")
    w("    InitiatingProcessAccountName: InitiatingProcessAccountDomain")
    w("  default_domain_field: InitiatingProcessAccountDomain")
    w("  field_name_conditions:")
    w("  - type: include_fields")
    w("    fields: [AccountName, InitiatingProcessAccountName]")
    hashes(w, f"{p}_hashes_field_values", "Hashes", ["MD5", "SHA1", "SHA256"], "", False)
    drop_initiated(w, f"{p}_network_initiated_field")
    rule_failure(w, p, "Microsoft XDR")
    field_check(w, p, MICROSOFT_XDR_TABLES, xdr_map.MICROSOFT_XDR_FIELD_MAPPINGS, "keymappings")
    return w.text()


def sentinel_asim():
    w = Writer()
    p = "sentinel_asim"
    header(w, p, "Generic Log Sources to Sentinel ASIM tables and fields")
    set_table(w, p, asim_map.CATEGORY_TO_TABLE_MAPPINGS, asim_map.EVENTID_CATEGORY_TO_TABLE_MAPPINGS)
    drop_fields(w, f"{p}_drop_eventid", ["EventID", "EventCode", "ObjectType"])
    table_mappings(w, p, asim_map.SENTINEL_ASIM_FIELD_MAPPINGS)
    generic_mapping(w, p, asim_map.SENTINEL_ASIM_FIELD_MAPPINGS)
    for i, (name, regex, replacement) in enumerate(REGISTRY_KEYS):
        # The package lists the previous key under two names; both are kept as it has them.
        fields = ["RegistryKey", "PreviousRegistryKey"] if i == 0 else ["RegistryKey", "RegistryPreviousKey"]
        replace(w, f"{p}_registry_key_replace_{name}", regex, replacement, fields)
    registry_action(w, f"{p}_registry_actiontype_value", "EventType")
    hashes(w, f"{p}_processcreate_hashes_field_values", "Hashes",
           ["MD5", "SHA1", "SHA256", "SHA512", "IMPHASH"], "TargetProcess", False, "imProcessCreate")
    hashes(w, f"{p}_fileevent_hashes_field_values", "Hashes",
           ["MD5", "SHA1", "SHA256", "SHA512"], "TargetFile", False, "imFileEvent")
    hashes(w, f"{p}_webrequest_hashes_field_values", "Hashes",
           ["MD5", "SHA1", "SHA256", "SHA512"], "File", False, "imWebSession")
    drop_initiated(w, f"{p}_network_initiated_field")
    rule_failure(w, p, "Sentinel ASIM")
    field_check(w, p, SENTINEL_ASIM_TABLES, asim_map.SENTINEL_ASIM_FIELD_MAPPINGS, "fieldmappings")
    return w.text()


def azure_monitor():
    w = Writer()
    p = "azure_monitor"
    header(w, p, "Generic Log Sources to Azure Monitor tables and fields")
    set_table(w, p, az_map.CATEGORY_TO_TABLE_MAPPINGS, az_map.EVENTID_CATEGORY_TO_TABLE_MAPPINGS)
    table_mappings(w, p, az_map.AZURE_MONITOR_FIELD_MAPPINGS)
    drop_fields(w, f"{p}_drop_fields", ["ObjectType"])
    registry_fields = ["RegistryKey", "RegistryPreviousKey", "ObjectName"]
    for name, regex, replacement in REGISTRY_KEYS:
        replace(w, f"{p}_registry_key_replace_{name}", regex, replacement, registry_fields)
    registry_action(w, f"{p}_registry_actiontype_value", "EventType")
    hashes(w, f"{p}_securityevent_hashes_field_values", "FileHash",
           ["MD5", "SHA1", "SHA256"], "FileHash", True, "SecurityEvent")
    hashes(w, f"{p}_hashes_field_values", "Hashes",
           ["MD5", "SHA1", "SHA256"], "", False, "SecurityEvent", table_not=True)
    drop_initiated(w, f"{p}_network_initiated_field")
    rule_failure(w, p, "Azure Monitor")
    field_check(w, p, AZURE_MONITOR_TABLES, az_map.AZURE_MONITOR_FIELD_MAPPINGS, "fieldmappings")
    return w.text()


if __name__ == "__main__":
    for name, make in [("microsoft_xdr", microsoft_xdr), ("sentinel_asim", sentinel_asim), ("azure_monitor", azure_monitor)]:
        (OUT / f"{name}.yml").write_text(make())
        print(f"wrote {OUT / (name + '.yml')}")
