"""``collapse=True``: group ops by module, then fold repeated layers into one node each.

Two passes over the drawn parts, each a contraction (several nodes become one, edges follow):

1. every module's ops and its own parameters become one node, named by the module;
2. along each chain (each node feeding only the next, which is fed by no other op), a block of
   1 to ``MAX_PERIOD`` nodes repeated at least ``MIN_REPEATS`` times becomes one node
   "… ×N"; the parameters and constants that fed only those nodes fold the same way.

So a 1,000-layer MLP draws as a handful of nodes, and a 10,000-op scalar chain as a few too.
"""
from .nodes import LEAF_KINDS, Edge, Node, Parts

MIN_REPEATS = 3
MAX_PERIOD = 8


def collapse(parts: Parts, module_classes: dict) -> Parts:
    """Both passes; ``module_classes`` maps dotted module names to their class names."""
    return fold_repeats(group_by_module(parts, module_classes))


def contract(parts: Parts, members: dict) -> Parts | None:
    """Replace each list of node indices in ``members`` (new Node -> indices) by its new Node.

    A new node takes the place of its last member, so the order stays topological unless the
    grouping made a cycle; then None is returned and the caller keeps the parts as they were.
    """
    owner = {}
    for new_node, indices in members.items():
        for index in indices:
            owner[index] = new_node
    slots: list = []
    position: dict = {}
    last_member = {new_node: max(indices) for new_node, indices in members.items()}
    for index, node in enumerate(parts.nodes):
        new_node = owner.get(index)
        if new_node is None:
            position[index] = len(slots)
            slots.append(node)
        elif last_member[new_node] == index:
            position[new_node] = len(slots)
            slots.append(new_node)
    result, seen = Parts(nodes=slots), set()
    for edge in parts.edges:
        source = position[owner.get(edge.source, edge.source)]
        target = position[owner.get(edge.target, edge.target)]
        if source == target or (source, target) in seen:
            continue
        if source > target:
            return None
        seen.add((source, target))
        kept = edge.label if edge.source not in owner and edge.target not in owner else None
        result.edges.append(Edge(source, target, kept))
    return result


def group_by_module(parts: Parts, module_classes: dict) -> Parts:
    """One node per module holding its ops and the parameters only its ops read."""
    users = _targets(parts)
    by_module: dict = {}
    for index, node in enumerate(parts.nodes):
        if node.kind == "op" and node.module is not None:
            by_module.setdefault(node.module, []).append(index)
    members = {}
    for module, ops in by_module.items():
        op_set = set(ops)
        params = [index for index, node in enumerate(parts.nodes)
                  if node.kind == "param" and node.module == module and users[index] <= op_set]
        last = parts.nodes[ops[-1]]
        class_name = module_classes.get(module)
        operations = tuple(parts.nodes[index].signature for index in ops)
        title = module if class_name is None else f"{module} ({class_name})"
        if len(ops) > 1:  # say what is inside: "0.0 (Linear)\nlinear → tanh"
            title += "\n" + " → ".join(parts.nodes[index].signature[1] for index in ops)
        node = Node("group", title,
                    last.shape, module=module, count=len(ops),
                    signature=("group", class_name, operations,
                               tuple(parts.nodes[index].shape for index in params)))
        members[node] = sorted(ops + params)
    grouped = contract(parts, members)
    return parts if grouped is None else grouped


def fold_repeats(parts: Parts) -> Parts:
    """Fold every block repeated ``MIN_REPEATS`` or more times along a chain into one node."""
    users = _targets(parts)
    feeders: list = [[] for _ in parts.nodes]
    for edge in parts.edges:
        feeders[edge.target].append(edge.source)
    nodes = parts.nodes

    def side_leaves(index):
        """The leaves that feed this node and nothing else, in argument order."""
        return [source for source in dict.fromkeys(feeders[index])
                if nodes[source].kind in LEAF_KINDS and users[source] == {index}]

    def next_in_chain(index):
        successors = users[index]
        if len(successors) != 1:
            return None
        (following,) = successors
        computed = {source for source in feeders[following] if nodes[source].kind not in LEAF_KINDS}
        return following if computed == {index} and _foldable(nodes[following]) else None

    linked = set()
    for index, node in enumerate(nodes):
        if _foldable(node) and next_in_chain(index) is not None:
            linked.add(next_in_chain(index))
    members = {}
    for start, node in enumerate(nodes):
        if not _foldable(node) or start in linked:
            continue
        chain = [start]
        while next_in_chain(chain[-1]) is not None:
            chain.append(next_in_chain(chain[-1]))
        signatures = [(nodes[i].signature, tuple(nodes[s].signature for s in side_leaves(i)))
                      for i in chain]
        for begin, period, repeats in _repeats(signatures):
            run = chain[begin:begin + period * repeats]
            members.update(_fold_run(nodes, run, period, repeats, side_leaves))
    folded = contract(parts, members) if members else None
    return parts if folded is None else folded


def _fold_run(nodes: list, run: list, period: int, repeats: int, side_leaves) -> dict:
    """The new nodes for one folded run: the run itself, and its side leaves slot by slot."""
    block = [nodes[index] for index in run[:period]]
    first, last = block[0], nodes[run[-1]]
    if period == 1 and first.kind == "group" and first.module is not None:
        class_name = first.signature[1]  # repeated modules: "layers.1 … layers.39 (Linear ×39)"
        kind = f"{class_name} ×{repeats}" if class_name else f"×{repeats}"
        title = f"{first.module} … {last.module} ({kind})"
        if "\n" in first.title:
            title += "\n" + first.title.split("\n", 1)[1]  # the ops inside one module
    elif period == 1:
        title = f"{_span([nodes[index].title for index in run])} ×{repeats}"
    else:
        title = "[" + " → ".join(node.title for node in block) + f"] ×{repeats}"
    folded = Node("group", title, last.shape, module=first.module,
                  count=sum(nodes[index].count for index in run),
                  signature=("folded", tuple(node.signature for node in block), repeats))
    members = {folded: list(run)}
    for offset in range(period):
        copies = [side_leaves(run[offset + period * k]) for k in range(repeats)]
        for slot in range(len(copies[0])):
            leaves = [leaf_list[slot] for leaf_list in copies]
            first = nodes[leaves[0]]
            merged = Node(first.kind, f"{_span([nodes[i].title for i in leaves])} ×{repeats}",
                          first.shape, module=first.module, count=repeats,
                          signature=first.signature)
            members[merged] = leaves
    return members


def _repeats(signatures: list):
    """(start, period, repeats) of each maximal repeated block, scanning left to right."""
    begin, total = 0, len(signatures)
    while begin < total:
        best = None
        for period in range(1, MAX_PERIOD + 1):
            end = begin + period
            while end + period <= total and \
                    signatures[end:end + period] == signatures[begin:begin + period]:
                end += period
            repeats = (end - begin) // period
            if repeats >= MIN_REPEATS and (best is None or period * repeats > best[0] * best[1]):
                best = (period, repeats)
        if best is None:
            begin += 1
            continue
        yield begin, best[0], best[1]
        begin += best[0] * best[1]


def _span(titles: list) -> str:
    """"w" for identical titles, "layers.0 … layers.9" for a numbered series."""
    return titles[0] if len(set(titles)) == 1 else f"{titles[0]} … {titles[-1]}"


def _foldable(node: Node) -> bool:
    return node.kind in ("op", "group")


def _targets(parts: Parts) -> list:
    """For each node, the set of nodes it feeds."""
    users: list = [set() for _ in parts.nodes]
    for edge in parts.edges:
        users[edge.source].add(edge.target)
    return users
