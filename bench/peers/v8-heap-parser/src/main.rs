//! `heaphound summary FILE` done with the v8-heap-parser crate: parse the snapshot, compute
//! dominators and retained sizes, and group the nodes by class (count, self size, retained size).
//! Prints a short JSON check (class count, root retained size, the 3 classes retaining the most).
//! usage: v8-heap-parser-bench FILE.heapsnapshot
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: v8-heap-parser-bench FILE.heapsnapshot");
        return ExitCode::from(2);
    };
    // decode_slice over the whole file is the crate's fastest entry point (decode_reader goes
    // through serde_json's byte-at-a-time reader); the bytes are dropped once the graph is built.
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{}: {e}", path.to_string_lossy());
            return ExitCode::FAILURE;
        }
    };
    let graph = match v8_heap_parser::decode_slice(&bytes) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("{}: {e}", path.to_string_lossy());
            return ExitCode::FAILURE;
        }
    };
    drop(bytes);

    // get_class_groups(false) builds retainers, post order, dominators (build_dominators),
    // the dominated-node lists and every node's retained size, then sums per class the retained
    // sizes of the class's topmost nodes in the dominator tree (DevTools' "maxRet").
    // Groups come back sorted by retained size, largest first.
    let groups = graph.get_class_groups(false);
    let node = |i: usize| graph.get_node(i).expect("group index is a node");
    let top: Vec<_> = groups
        .iter()
        .take(3)
        .map(|g| {
            serde_json::json!({
                "name": node(g.index).class_name(),
                "count": g.nodes.len(),
                "self_size": g.self_size,
                "retained_size": g.retained_size,
            })
        })
        .collect();
    let out = serde_json::json!({
        "tool": "v8-heap-parser 1.1.0",
        "node_count": graph.nodes().len(),
        "class_count": groups.len(),
        "total_self_size": groups.iter().map(|g| g.self_size).sum::<u64>(),
        "root_retained_size": graph.retained_size(graph.root_index),
        "top": top,
    });
    println!("{out}");
    ExitCode::SUCCESS
}
