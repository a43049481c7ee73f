"""An include with an attribute besides the one naming its file, which jLEMS cannot follow.

jLEMS reads an include's attributes as one path: the first value, then ``name=value`` of each
other attribute (``<Include file="Cells.xml" hrf="x"/>`` is ``Cells.xmlhrf=x``, NeuroML's
``<include href="cells.nml" foo="1"/>`` is ``cells.nmlfoo=1``), and stops, finding no such file;
nmlhub includes the named file and ignores the rest. ``validate`` warns of a LEMS ``<Include>``
(:mod:`nmlhub.model.ignored_attributes`) and reports a NeuroML ``<include>`` as the schema error it
is; ``run``, which does not apply the schema, warns of both (:func:`neuroml_include_warnings`).
"""

from __future__ import annotations

from lxml import etree

from ..xmlsafe import iterparse_xml_bytes, local_name, read_xml_file, xml_errors
from .model import Model
from .records import Problem


def include_problem(element: etree._Element, file: str, line: int | None = None) -> Problem:
    """The warning for an include element with more than one attribute.

    Parameters
    ----------
    element
        The ``<Include>`` (LEMS) or ``<include>`` (NeuroML) element.
    file
        The file it is written in.
    line
        Its line, when the element's own ``sourceline`` is not that of the file.

    Returns
    -------
    Problem
        A warning naming the path jLEMS looks for and the attribute nmlhub follows.
    """
    tag = local_name(element)
    names = list(element.attrib)
    path = element.get(names[0]) + "".join(f"{name}={element.get(name)}" for name in names[1:])
    preferred = "href" if tag == "include" else "file"
    other = "file" if preferred == "href" else "href"
    followed = preferred if element.get(preferred) else other
    extra = ", ".join(f"'{name}'" for name in names if name != followed)
    return Problem(f"jLEMS refuses this file: it reads the attributes of <{tag}> as one path ('{path}') and "
                   f"finds no such file; nmlhub includes '{element.get(followed)}' and ignores {extra} "
                   f"(write only {preferred}=...)",
                   file, line if line is not None else element.sourceline, f"<{tag}>", "warning")


def neuroml_include_warnings(model: Model) -> list[Problem]:
    """A warning per NeuroML ``<include>`` the model followed that carries another attribute.

    Only the files that include another are read again, and each only up to its last followed
    include (NeuroML writes its includes first).

    Parameters
    ----------
    model
        The loaded model (its ``files`` say where each file was included from).

    Returns
    -------
    list of Problem
        Warnings naming the file, the line and the path jLEMS would look for.
    """
    kinds = {str(source.path): source.kind for source in model.files}
    lines: dict[str, set[int]] = {}
    for source in model.files:
        where = source.included_from
        if where is not None and where.line is not None and kinds.get(where.file) == "neuroml":
            lines.setdefault(where.file, set()).add(where.line)
    problems = []
    for file, wanted in lines.items():
        try:
            data = read_xml_file(file)
            with xml_errors(file):
                for _, element in iterparse_xml_bytes(data, source=file):
                    if element.sourceline is not None and element.sourceline > max(wanted):
                        break
                    if (element.sourceline in wanted and local_name(element) == "include"
                            and len(element.attrib) > 1):
                        problems.append(include_problem(element, file))
        except Exception:  # read once already; a file changed since is the run's problem
            continue
    return problems


__all__ = ["include_problem", "neuroml_include_warnings"]
