"""Load NeuroML2 XML, NeuroML HDF5 and LEMS files, with their includes, into one :class:`Model`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import neuroml
from lxml import etree

from ..coretypes import core_component_types, core_files_included, core_type_file_names
from ..errors import ModelError, NmlhubError, XmlSecurityError
from ..xmlsafe import DEFAULT_MAX_XML_BYTES, lems_type, local_name, parse_xml_bytes, parse_xml_file
from .model import Model
from .redeclared import redeclaration_message, redeclared_constants
from .records import (
    ComponentRecord,
    ComponentTypeDef,
    LemsComponent,
    Location,
    Problem,
    SourceFile,
)
from .simulation import parse_simulation
from .xml_columns import STREAM_BYTES, RowTable, attach_tables, parse_streaming, take_tables
from .typesystem import category_of, is_known_type, type_chain, component_type_parameters, neuroml_tag_to_libneuroml

log = logging.getLogger(__name__)

HDF5_SUFFIXES = (".h5", ".hdf5")

#: Elements that describe the model's structure, not components.
_STRUCTURAL_TAGS = frozenset(
    {"include", "Include", "Target", "Simulation", "Dimension", "Unit", "Constant",
     "ComponentType", "Assertion", "notes", "annotation", "property", "DefaultRun"}
)


def load(
    path: str | Path,
    *,
    strict: bool = True,
    keep_trees: bool = False,
    max_xml_bytes: int = DEFAULT_MAX_XML_BYTES,
) -> Model:
    """Load a NeuroML2 model from a ``.nml`` file, a NeuroML HDF5 file or a LEMS simulation file.

    Includes (NeuroML ``<include href>``, LEMS ``<Include file>``) are followed recursively,
    relative to the including file, each file once. Includes of the NeuroML2 core type files
    (``Cells.xml``, ``Networks.xml``...) are provided by nmlhub and skipped.

    Parameters
    ----------
    path
        The file to load.
    strict
        If true, a missing include is an error; otherwise it is recorded in ``Model.problems``
        and loading goes on (``nmlhub info`` and ``nmlhub validate`` load this way).
    keep_trees
        Keep the parsed XML tree of each file in ``Model.files`` (used for validation).
    max_xml_bytes
        Refuse XML files larger than this.

    Returns
    -------
    Model
        The merged model.

    Raises
    ------
    ModelError
        A file is missing, malformed or of an unknown kind, or includes form a cycle.
    XmlSecurityError
        A file declares entities or a DTD, or is too large.

    Examples
    --------
    >>> model = load("nml_examples/izh_network/LEMS_izh_network.xml")  # doctest: +SKIP
    >>> model.simulation.length_ms  # doctest: +SKIP
    500.0
    """
    path = Path(path)
    if path.suffix.lower() in _CONVERTED or (path / "circuit_config.json").is_file() \
            or path.name == "circuit_config.json":  # or a SONATA circuit
        return _load_converted(path, strict=strict, keep_trees=keep_trees, max_xml_bytes=max_xml_bytes)
    return _Loader(strict=strict, keep_trees=keep_trees, max_xml_bytes=max_xml_bytes).run(path)


_CONVERTED = (".json", ".pkl", ".pickle", ".mat")


def _load_converted(path: Path, **options: Any) -> Model:
    """A model saved as JSON, pickle, MATLAB or a SONATA circuit (a folder or its
    ``circuit_config.json``), loaded from its NeuroML text made in memory: no file is written, the
    includes resolve beside ``path`` and every message names ``path`` (its lines are those of the
    XML ``nmlhub convert`` writes from it)."""
    from ..converters.formats import format_of, kind_of, read_model
    from ..converters.tree_checks import check_includes_inside
    from ..converters.model_tree import xml_from_tree

    if not path.exists():
        raise ModelError("file not found", file=path)
    try:
        if kind_of(path) != "model":
            raise ModelError("holds simulation results, not a model (read it with nmlhub.converters.load)",
                             file=path)
        tree = read_model(path)
    except RecursionError:
        raise ModelError("nested too deeply to read", file=path) from None
    if format_of(path) != "sonata":
        # plain data from anywhere; a SONATA circuit names the NeuroML cell files it was written from
        check_includes_inside(tree, path)
    return _Loader(**options).run(path, xml_from_tree(tree))


class _Loader:
    def __init__(self, *, strict: bool, keep_trees: bool, max_xml_bytes: int) -> None:
        self.strict = strict
        self.keep_trees = keep_trees
        self.max_xml_bytes = max_xml_bytes
        self.model: Model | None = None
        self.seen: set[Path] = set()
        self.stack: list[Path] = []
        # folders of the files read so far, latest first: where jNeuroML also looks for an include
        self.search_dirs: list[Path] = []
        self.tag_table = neuroml_tag_to_libneuroml()
        # tables of large lists read while a file streamed, by the network element they belong to
        self.streamed_tables: dict[etree._Element, list[RowTable]] = {}
        # core type files the model includes, and its own types named as core types (judged once
        # every include is known: jLEMS refuses such a type only where it reads the core file)
        self.core_includes: set[str] = set()
        self.core_names: list[tuple[str, str, Location]] = []

    # -- entry ---------------------------------------------------------------------------------
    def run(self, path: Path, text: bytes | None = None) -> Model:
        """The model of the file at ``path``, or of its NeuroML ``text`` when given (a model
        converted in memory: its includes resolve beside ``path``, which its messages name)."""
        top = path.expanduser().resolve()
        self.model = Model(path=top, document=neuroml.NeuroMLDocument(id=_doc_id(top)))
        self._load_file(top, included_from=None, is_top=True, text=text)
        self._warn_core_names()
        self._categorize_again()
        from ..lems.cell_target import run_cell_target_in_a_network

        run_cell_target_in_a_network(self.model)
        from ..lems.structure_network import run_structure_network

        run_structure_network(self.model)
        from ..lems.lems_network import run_lems_defined_network

        run_lems_defined_network(self.model)
        return self.model

    def _warn_core_names(self) -> None:
        """The model's types named as a core type jNeuroML reads with them: all of them for a
        NeuroML document (jNeuroML adds every core type), else those of the core files the LEMS
        files include (a LEMS file of its own types alone, NESTML2LEMS's, runs in jLEMS)."""
        assert self.model is not None
        top_is_neuroml = bool(self.model.files) and self.model.files[0].kind != "lems"
        read = core_files_included(self.core_includes)
        for name, core_file, here in self.core_names:
            if top_is_neuroml or Path(core_file).name in read:
                self._problem(f"ComponentType '{name}' has the name of a NeuroML2 core type (in {core_file}): "
                              "nmlhub runs this definition, jNeuroML refuses the file ('Duplicate name for "
                              "ComponentType')", here, f"ComponentType {name}", "warning")

    def _categorize_again(self) -> None:
        """Categories once every ComponentType is known: a component may come before the
        definition of its type (MiglioreEtAl14's FI.synapse.xml), and LEMS allows it."""
        assert self.model is not None
        parents = self.model.user_type_parents()
        for record in self.model.components.values():
            if record.category == "other":
                record.category = category_of(record.type, parents)

    def _problem(self, message: str, location: Location | None, element: str | None = None,
                 severity: str = "error") -> None:
        assert self.model is not None
        self.model.problems.append(
            Problem(message, location.file if location else None,
                    location.line if location else None, element, severity)
        )

    # -- files ---------------------------------------------------------------------------------
    def _load_file(self, path: Path, included_from: Location | None, is_top: bool = False,
                   text: bytes | None = None) -> None:
        if path in self.stack:
            chain = " -> ".join(p.name for p in self.stack[self.stack.index(path):] + [path])
            where = included_from or Location(str(path))
            raise ModelError(f"cyclic include: {chain}", file=where.file, line=where.line)
        if path in self.seen:
            return
        self.seen.add(path)
        self.stack.append(path)
        if path.parent not in self.search_dirs:
            self.search_dirs.insert(0, path.parent)
        try:
            if text is None and path.name.lower().endswith(HDF5_SUFFIXES):
                self._load_hdf5(path, included_from)
            else:
                self._load_xml(path, included_from, is_top, text)
        finally:
            self.stack.pop()

    def _load_xml(self, path: Path, included_from: Location | None, is_top: bool,
                  text: bytes | None = None) -> None:
        assert self.model is not None
        tree = self._parse(path, text)
        root = tree.getroot()
        kind = local_name(root)
        if kind not in ("neuroml", "Lems"):
            raise ModelError(
                f"root element is <{kind}>, expected <neuroml> (NeuroML2) or <Lems> (LEMS)",
                file=path,
                line=root.sourceline,
            )
        self.model.files.append(
            SourceFile(path, "neuroml" if kind == "neuroml" else "lems", included_from,
                       tree if self.keep_trees else None)
        )
        if is_top and kind == "neuroml":
            self._take_document_header(root)
        self._load_children(root, path)

    def _parse(self, path: Path, text: bytes | None) -> etree._ElementTree:
        """The tree of the XML file at ``path`` (or of its ``text``). A large file streams, its large
        lists read as tables; also for validate (keep_trees), which then checks the rows in the
        tables, and the rest of the document in the tree."""
        assert self.model is not None
        if text is not None and len(text) > self.max_xml_bytes:
            raise XmlSecurityError(f"its NeuroML text is {len(text)} bytes, larger than the limit of "
                                   f"{self.max_xml_bytes} bytes for XML", file=path)
        size = len(text) if text is not None else path.stat().st_size if path.is_file() else 0
        if size >= STREAM_BYTES:
            streamed = parse_streaming(path, self.max_xml_bytes, self.model.units, text)
            if streamed is not None:
                self.streamed_tables.update(streamed[1])
                return streamed[0]
        if text is not None:
            return parse_xml_bytes(text, source=path)
        return parse_xml_file(path, self.max_xml_bytes)

    def _take_document_header(self, root: etree._Element) -> None:
        assert self.model is not None
        doc = self.model.document
        doc.id = root.get("id", doc.id)
        for child in root:
            tag = local_name(child)
            if tag == "notes":
                doc.notes = child.text
            elif tag in ("annotation", "property"):
                cls = neuroml.nml.nml.Annotation if tag == "annotation" else neuroml.nml.nml.Property
                obj = cls.factory()
                obj.build(child)
                if tag == "annotation":
                    doc.annotation = obj
                else:
                    doc.properties.append(obj)

    def _load_children(self, root: etree._Element, path: Path) -> None:
        assert self.model is not None
        file = str(path)
        unit_defs = [c for c in root if local_name(c) in ("Dimension", "Unit")]
        if unit_defs:
            self.model.units.add_definitions(unit_defs, source=file)
        for child in root:
            tag = lems_type(child)
            if not tag:
                continue
            here = Location(file, child.sourceline)
            if tag in ("include", "Include"):
                self._follow_include(child, tag, path, here)
            elif tag == "Target":
                self.model.target = child.get("component")
            elif tag == "Simulation":
                sim = parse_simulation(child, self.model.units, file)
                self.model.simulations[sim.id] = sim
            elif tag == "ComponentType":
                self._add_component_type(child, here)
                if tag in self.tag_table:
                    self._add_libneuroml(child, tag, here)
            elif tag in _STRUCTURAL_TAGS:
                continue
            elif tag in self.tag_table and not self._retyped(child, tag):
                self._add_libneuroml(child, tag, here)
            else:
                self._add_lems_component(child, tag, here)

    def _retyped(self, element: etree._Element, tag: str) -> bool:
        """True when ``type`` names an unrelated ComponentType (``<cell type="pointCellCondBased">``):
        jNeuroML then builds that type, so nmlhub keeps the element as a LEMS component."""
        assert self.model is not None
        declared = element.get("type")
        if not declared or declared == tag:
            return False
        parents = self.model.user_type_parents()
        if not is_known_type(declared, parents):
            return False
        return declared not in type_chain(tag, parents) and tag not in type_chain(declared, parents)

    def _follow_include(self, element: etree._Element, tag: str, path: Path, here: Location) -> None:
        # jNeuroML reads a NeuroML <include file=...> (and a LEMS <Include href=...>) as well
        attr = "href" if tag == "include" else "file"
        target = element.get(attr) or element.get("file" if attr == "href" else "href")
        if not target:
            raise ModelError(f"<{tag}> has no '{attr}' attribute", file=here.file, line=here.line)
        if Path(target).name in core_type_file_names():
            self.core_includes.add(Path(target).name)
            return
        if "://" in target:
            raise XmlSecurityError(
                f"include '{target}' is remote; nmlhub never fetches files over the network",
                file=here.file, line=here.line,
            )
        resolved = include_path(target, path.parent, self.search_dirs)
        if resolved is None:
            message = (f"included file '{target}' not found (looked for {(path.parent / target).resolve()}, "
                       f"then, as jNeuroML does, in the folders of the files read before)")
            if target.startswith("/"):
                relative = (path.parent / target.lstrip("/")).resolve()
                message = (f"included file '{target}' not found: a leading '/' is read, as jNeuroML does, "
                           f"relative to the including file's folder ({relative}), as an absolute path "
                           f"and relative to the folders of the files read before")
            if self.strict:
                raise ModelError(message, file=here.file, line=here.line, element=f"<{tag}>")
            self._problem(message, here, f"<{tag}>")
            return
        self._load_file(resolved, included_from=here)

    # -- components ----------------------------------------------------------------------------
    def _add_component_type(self, element: etree._Element, here: Location) -> None:
        assert self.model is not None
        name = element.get("name", "")
        if name in self.model.component_types:
            first = self.model.component_types[name].location
            self._problem(f"ComponentType '{name}' is defined again (first at {first})",
                          here, f"ComponentType {name}", "warning")
            return
        core = core_component_types().get(name)
        if core is not None:
            self.core_names.append((name, core.file, here))
        for first, again in redeclared_constants(element):
            message = redeclaration_message(name, first, again)
            if message is not None:
                self._problem(message, Location(here.file, again.sourceline), "<Constant>", "warning")
        self.model.component_types[name] = ComponentTypeDef(
            name,
            element.get("extends"),
            element.get("description", ""),
            component_type_parameters(element),
            here,
            etree.tostring(element, encoding="unicode"),
        )

    def _add_libneuroml(self, element: etree._Element, tag: str, here: Location) -> None:
        attr, cls = self.tag_table[tag]
        obj = cls.factory()
        tables = []
        if tag == "network":
            # large connection and input lists as tables, not one object per row; a kept tree
            # (nmlhub validate) keeps the rows of a file small enough not to stream, for its checks
            assert self.model is not None
            tables = self.streamed_tables.pop(element, [])
            if not self.keep_trees:
                tables += take_tables(element, self.model.units)
        try:
            obj.build(element)
        except NmlhubError:
            raise
        except Exception as exc:  # generateDS reports malformed values with its own exceptions
            raise ModelError(
                f"cannot read element: {exc}", file=here.file, line=here.line,
                element=f"<{tag} id='{element.get('id', '')}'>",
            ) from None
        if tables:
            attach_tables(obj, tables)
        self._register(tag, attr, obj, here)
        if tag == "network":
            self._locate_network_children(element, obj.id, here.file)

    def _register(self, tag: str, attr: str, obj: Any, here: Location) -> None:
        assert self.model is not None
        getattr(self.model.document, attr).append(obj)
        comp_id = getattr(obj, "id", None)
        if comp_id:
            self._record(comp_id, tag, obj, here)

    def _record(self, comp_id: str, comp_type: str, obj: Any, here: Location) -> None:
        assert self.model is not None
        existing = self.model.components.get(comp_id)
        if existing is not None:
            self._problem(
                f"id '{comp_id}' is used again (first by <{existing.type}> at {existing.location})",
                here, f"<{comp_type} id='{comp_id}'>",
            )
            return
        category = category_of(comp_type, self.model.user_type_parents())
        self.model.components[comp_id] = ComponentRecord(comp_id, comp_type, category, here, obj)

    def _add_lems_component(self, element: etree._Element, tag: str, here: Location) -> None:
        assert self.model is not None
        parents = self.model.user_type_parents()
        component = LemsComponent.from_element(
            element, lambda t: bool(t) and is_known_type(t, parents)
        )
        if not component.id:
            self._problem("component without an id is ignored", here, f"<{tag}>", "warning")
            return
        self._record(component.id, component.type, component, here)
        for child in element:  # a NeuroML network written inside a LEMS component (Ex17's tissue)
            if isinstance(child.tag, str) and lems_type(child) == "network":
                self._add_libneuroml(child, "network", Location(here.file, child.sourceline))

    def _locate_network_children(self, element: etree._Element, net_id: str, file: str) -> None:
        assert self.model is not None
        known = _network_child_tags()
        self._read_rules(element, net_id, file)
        for child in element:
            tag = local_name(child)
            if tag and tag not in known:
                self.model.network_extras.setdefault(net_id, []).append(LemsComponent.from_element(child))
            child_id = child.get("id") if isinstance(child.tag, str) else None
            if child_id:
                self.model.locations[f"{net_id}/{child_id}"] = Location(file, child.sourceline)

    def _read_rules(self, element: etree._Element, net_id: str, file: str) -> None:
        from ..rules.annotations import find_rules, rules_from_element
        from ..rules.values import RuleError

        assert self.model is not None
        found = find_rules(element, file)
        if found is None:
            return
        try:
            self.model.rules[net_id] = rules_from_element(found, net_id)
        except RuleError as exc:
            raise ModelError(f"network '{net_id}': rules: {exc.message}", file=file, line=found.sourceline) from None

    # -- HDF5 ----------------------------------------------------------------------------------
    def _load_hdf5(self, path: Path, included_from: Location | None) -> None:
        from .hdf5 import read_hdf5_network

        assert self.model is not None
        self.model.files.append(SourceFile(path, "hdf5", included_from))
        contents = read_hdf5_network(path)
        here = Location(str(path))
        if contents.top_level_xml is not None:
            root = parse_xml_bytes(contents.top_level_xml, source=f"{path} (neuroml_top_level)")
            self._load_children(root.getroot(), path)
        if contents.network is not None:
            self._register("network", "networks", contents.network, here)
            if contents.network_xml:
                self._add_network_xml(contents.network, contents.network_xml, path)
            for child_list in ("populations", "projections", "electrical_projections",
                               "continuous_projections", "input_lists", "explicit_inputs"):
                for child in getattr(contents.network, child_list, []) or []:
                    child_id = getattr(child, "id", None)
                    if child_id:
                        self.model.locations[f"{contents.network.id}/{child_id}"] = here

    def _add_network_xml(self, network: Any, text: bytes, path: Path) -> None:
        """The network's children nmlhub's NeuroML HDF5 keeps as XML (each in an ``nmlhub_slot``:
        explicit inputs, the rules annotation, elements the datasets cannot hold) join the network
        read from the datasets."""
        shell = parse_xml_bytes(text, source=f"{path} (nmlhub_extra_xml)").getroot()
        element = etree.Element(shell.tag, dict(shell.attrib), nsmap=shell.nsmap)
        for slot in list(shell):
            element.extend(list(slot))
        if not len(element):
            return
        built = neuroml.nml.nml.Network.factory()
        try:
            built.build(element)
        except Exception as exc:  # generateDS reports malformed values with its own exceptions
            raise ModelError(f"cannot read the network's XML part: {exc}", file=path) from None
        for member in neuroml.nml.nml.Network.member_data_items_:
            if member.get_container() == 1 and getattr(built, member.get_name(), None):
                getattr(network, member.get_name()).extend(getattr(built, member.get_name()))
        if built.annotation is not None and getattr(network, "annotation", None) is None:
            network.annotation = built.annotation
        self._locate_network_children(element, network.id, str(path))


def _network_child_tags() -> set[str]:
    import neuroml.nml.nml as nml

    tags = set()
    for member in nml.Network.member_data_items_:
        attrs = member.get_child_attrs()
        if isinstance(attrs, dict) and "name" in attrs:
            tags.add(attrs["name"])
    return tags | {"notes", "annotation", "property"}


def _doc_id(path: Path) -> str:
    name = path.name
    for suffix in (".nml.h5", ".net.nml", ".cell.nml", ".nml", ".xml", ".h5"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def include_path(target: str, folder: Path, search_dirs: list[Path] = ()) -> Path | None:
    """The file an include names, or None when it is not there.

    As jNeuroML (jLEMS) finds it: relative to the including file's ``folder``, then as written
    (an absolute path), then relative to each of ``search_dirs`` (the folders of the files read so
    far, latest first). A leading ``/`` is read relative to a folder first, as jNeuroML does (OSB
    models write ``/channels/Na.channel.nml`` for the model's own ``channels`` folder).
    """
    relative = target.lstrip("/")
    candidates = [folder / relative]
    if target.startswith("/"):
        candidates.append(Path(target))
    candidates += [d / relative for d in search_dirs]
    for candidate in candidates:
        # the first that exists, whatever it is: loading refuses what is not a regular file by name
        if candidate.exists():
            return candidate.resolve()
    return None
