"""The compiler's own instructions are declared once (``ir.INSTRS``: what the passes may ask of them); how
each is lowered, merged, evaluated, written into a plan and drawn lives beside the code that does it.
These tables must agree with the declarations, or an instruction would silently fall to an op's path."""
import numpy as np

import autotrain.engine.static as tf
from autotrain.engine.ops import OPS
from autotrain.engine.static import dot
from autotrain.engine.static.compiler import EMIT, optimize
from autotrain.engine.static.interpret import EVALUATE, evaluate
from autotrain.engine.static.ir import INSTRS
from autotrain.engine.static.lower import LOWERINGS, lower
from autotrain.engine.static.passes import prune
from autotrain.engine.static.passes.cse import MERGE_KEYS, instr_key


def test_every_instruction_is_evaluated_and_emitted_and_no_table_names_an_unknown_one():
    assert set(EMIT) == set(INSTRS) and set(EVALUATE) == set(INSTRS)
    for table in (MERGE_KEYS, dot.STYLES, dot.LABELS):
        assert set(table) <= set(INSTRS)
    assert not set(INSTRS) & set(OPS)


def _program():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (None, 3), name="x")
        w = tf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2), name="w")
        noise = tf.random_uniform((2,), 0.0, 1.0)
        loss = tf.reduce_mean(tf.nn.relu(tf.matmul(x, w) * 2.0 + 1.0)) + tf.reduce_sum(noise * 0.0)
        step = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        init = tf.global_variables_initializer()
    return g, x, w, loss, step, init


def test_lowering_gives_only_declared_instructions_and_ops():
    g, x, w, loss, step, init = _program()
    program = lower(g, [loss, step], {x: (4, 3)})
    assert {i.op for i in program.instrs} <= set(INSTRS) | set(OPS)
    assert {"feed", "variable", "const", "random", "assign", "group"} <= {i.op for i in program.instrs}
    assert set(LOWERINGS) >= {"placeholder", "variable", "const", "count", "random", "assign", "group"}
    assert "count" not in {i.op for i in program.instrs}   # reduce_mean's count became a const


def test_the_tables_give_the_compiled_and_interpreted_step_the_same_values_and_draw_every_instruction():
    g, x, w, loss, step, init = _program()
    feed = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
    program, report = optimize(g, [loss, step], {x: (4, 3)})
    assert "fused" in {i.op for i in program.instrs}
    for ins in program.instrs:   # reads of one node merge; an assign or a draw never does
        key = instr_key(ins)
        assert (key is None) == (ins.op in ("assign", "random", "group"))
    variables = {w: w.initial_value.attrs["value"].copy()}
    want_loss, _ = evaluate(prune(lower(g, [loss, step], {x: (4, 3)})), {x: feed}, variables)
    with tf.Session(g) as sess:
        sess.run(init)
        got_loss, _ = sess.run([loss, step], {x: feed})
        np.testing.assert_array_equal(sess.run(w), variables[w])
    np.testing.assert_array_equal(got_loss, want_loss)
    text = report.dot_after
    for style in ("fillcolor=lightblue", "fillcolor=khaki", "fillcolor=orange", "fillcolor=palegreen"):
        assert style in text
    assert 'label="feed x' in text and 'label="variable w' in text and "fused[" in text
