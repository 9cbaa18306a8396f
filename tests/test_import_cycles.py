"""No module imports itself back, through any chain, anywhere in the four packages.

import-linter's contracts (pyproject.toml) keep the layers and forbid circles among the siblings of
each package below the roots; the siblings right under `node` cannot be held to that (node.media's
store sits below node.context, its access above it), so this checks the whole tree module by
module. grimp counts imports inside functions too, so a circle cannot hide in one."""

import grimp


def test_no_module_imports_itself_back():
    graph = grimp.build_graph("node", "federation", "generation", "provenance", include_external_packages=False)
    circles = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if back := graph.find_shortest_chain(importer=imported, imported=module):
                circles.append(" -> ".join((module, *back)))
    assert circles == []
