"""nmlhub's own XML (rules, imported mechanisms) inside a NeuroML ``<annotation>``, in a form every
NeuroML tool reads.

jLEMS reads an annotation's children as components: it knows ``<property>`` and the RDF
vocabulary of NeuroML's core types (``rdf:RDF``, ``rdf:Description``, ``dc:description``...) and
refuses any other element (``No such type nmlhub:rules``); it never looks at the text inside an
element. So the payload travels as the text of an RDF description, a literal about nmlhub's
namespace::

    <annotation>
      <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dc="http://purl.org/dc/elements/1.1/">
        <rdf:Description rdf:about="https://nmlhub.org/schema/rules/1">
          <dc:description>&lt;nmlhub:rules xmlns:nmlhub="..." ...&gt;...&lt;/nmlhub:rules&gt;</dc:description>
        </rdf:Description>
      </rdf:RDF>
    </annotation>

The NeuroML schema skips annotation contents, libNeuroML keeps them, and the payload reads back
as the same element (with its line numbers in the file). An element placed directly in the
annotation (as nmlhub wrote before) is still read.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from ..xmlsafe import parse_xml_bytes

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC = "http://purl.org/dc/elements/1.1/"
NEUROML = "http://www.neuroml.org/schema/neuroml2"


def payload_annotation(payload: etree._Element, namespace: str) -> etree._Element:
    """An ``<annotation>`` (NeuroML namespace) carrying ``payload``, an element of ``namespace``."""
    annotation = etree.Element(f"{{{NEUROML}}}annotation")
    rdf = etree.SubElement(annotation, f"{{{RDF}}}RDF", nsmap={"rdf": RDF, "dc": DC})
    description = etree.SubElement(rdf, f"{{{RDF}}}Description")
    description.set(f"{{{RDF}}}about", namespace)
    holder = etree.SubElement(description, f"{{{DC}}}description")
    _pack(holder, payload)
    return annotation


def _pack(holder: etree._Element, payload: etree._Element) -> None:
    etree.indent(payload, space="  ", level=0)
    # escaped text, not CDATA: jLEMS's own XML reader does not know CDATA sections
    holder.text = "\n" + etree.tostring(payload, encoding="unicode") + "\n"


def _holders(parent: etree._Element, namespace: str) -> list[etree._Element]:
    """The ``dc:description`` elements of ``parent``'s annotations that carry ``namespace``'s payload."""
    found = []
    for annotation in parent:
        if not isinstance(annotation.tag, str) or etree.QName(annotation).localname != "annotation":
            continue
        for description in annotation.iter(f"{{{RDF}}}Description"):
            if description.get(f"{{{RDF}}}about") == namespace:
                found.extend(description.findall(f"{{{DC}}}description"))
    return found


def find_payload(parent: etree._Element, namespace: str, tag: str,
                 source: str | Path = "<annotation>") -> etree._Element | None:
    """The ``{namespace}tag`` element carried in ``parent``'s annotation (as RDF text, or as an
    element directly in the annotation), with line numbers of the file; None if there is none.

    Raises
    ------
    ModelError
        The carried text is not well-formed XML (named by file and line).
    """
    qualified = f"{{{namespace}}}{tag}"
    for annotation in parent:
        if isinstance(annotation.tag, str) and etree.QName(annotation).localname == "annotation":
            direct = annotation.find(qualified)
            if direct is not None:
                return direct
    for holder in _holders(parent, namespace):
        if holder.text and holder.text.strip():
            payload = _parse(holder, source)
            if payload.tag == qualified:
                return payload
    return None


def payload_in(rdf: etree._Element, namespace: str, tag: str, source: str | Path = "<annotation>") -> etree._Element | None:
    """The ``{namespace}tag`` element carried in an ``rdf:RDF`` element (as an annotation's
    content is kept by libNeuroML), or None."""
    for description in rdf.iter(f"{{{RDF}}}Description"):
        if description.get(f"{{{RDF}}}about") != namespace:
            continue
        for holder in description.findall(f"{{{DC}}}description"):
            if holder.text and holder.text.strip():
                payload = _parse(holder, source)
                if payload.tag == f"{{{namespace}}}{tag}":
                    return payload
    return None


def _parse(holder: etree._Element, source: str | Path) -> etree._Element:
    payload = parse_xml_bytes(holder.text.encode("utf-8"), source=f"{source}:{holder.sourceline}").getroot()
    offset = (holder.sourceline or 1) - 1
    for element in payload.iter():
        if element.sourceline is not None:
            element.sourceline = element.sourceline + offset
    return payload


def _all_holders(root: etree._Element, namespace: str) -> list[etree._Element]:
    return [holder for description in root.iter(f"{{{RDF}}}Description")
            if description.get(f"{{{RDF}}}about") == namespace
            for holder in description.findall(f"{{{DC}}}description")]


def unpack_payloads(root: etree._Element, namespace: str, source: str | Path = "<annotation>") -> None:
    """Put every payload of ``namespace`` in ``root``'s document back in as an element (the
    child of its ``dc:description``), so that it can be found and edited like any element;
    :func:`packed` turns such a document back into text."""
    for holder in _all_holders(root, namespace):
        if len(holder) == 0 and holder.text and holder.text.strip():
            payload = _parse(holder, source)
            holder.text = None
            holder.append(payload)


def packed(tree: etree._ElementTree, namespace: str) -> etree._ElementTree:
    """A copy of ``tree`` with the payloads :func:`unpack_payloads` opened turned back into text."""
    copy = parse_xml_bytes(etree.tostring(tree), source="<document being saved>")
    for holder in _all_holders(copy.getroot(), namespace):
        if len(holder):
            payload = holder[0]
            holder.remove(payload)
            _pack(holder, payload)
    return copy
