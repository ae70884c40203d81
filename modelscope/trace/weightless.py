"""Building a model without its weights' values: what a summary needs is shapes, not numbers.

Inside Keras's ``StatelessScope(initialize_variables=False)`` every variable a layer creates gets
its shape and dtype but no value, so building Llama 3 70B (282 GB of float32) takes about a
second and a few hundred MB. The trace is symbolic, so it never needs a value: reading such a
variable in a graph gives its initializer's ops, which are never run. Here the initializer is
swapped for one ``Empty`` op, free for the cost counter (a random-number recipe would count) and
never folded into a constant (so a branch on a weight stays a branch), so the report is the same
as with real weights. A variable made from
a value (``keras.Variable(0)``, an optimizer's step counter, which ``compile()`` creates) is
made from that value's shape and dtype, where Keras would refuse it inside the scope.

Keras remembers such variables in a global list, to initialise them when the next top-level
stateless scope ends; :func:`weightless` puts that list back as it was, so nothing initialises
them later behind the user's back (a 70B model would then be allocated after all). Keras's global
seed generator, if an unseeded random op made it in here, is dropped too: it has no value either. A model
built this way has no values: never read them (``stats`` builds for real).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_GLOBAL_SEEDS = "global_seed_generator"  # keras.random's SeedGenerator for unseeded ops, made on first use


def _unset(shape: Any, dtype: Any = None) -> Any:
    """A tensor of the variable's shape and dtype whose value nobody knows, as a real variable's
    read is: TensorFlow cannot fold it into a constant (``Empty``, not ``Fill``), so code that
    branches on a weight traces the same graph as with real weights."""
    import tensorflow as tf

    return tf.raw_ops.Empty(shape=tf.constant(shape, dtype=tf.int32), dtype=tf.as_dtype(dtype or "float32"))


@contextmanager
def weightless() -> Iterator[None]:
    """Variables created inside have shapes and dtypes but no values."""
    from keras.src.backend.common import global_state
    from keras.src.backend.common import variables as keras_variables
    from keras.src.backend.common.stateless_scope import StatelessScope

    register = keras_variables.register_uninitialized_variable
    create = keras_variables.Variable.__init__

    def register_without_value(variable: Any) -> None:
        variable._initializer = _unset
        register(variable)

    def create_from_a_value(variable: Any, initializer: Any, shape: Any = None, dtype: Any = None,
                            *args: Any, **kwargs: Any) -> None:  # fmt: skip
        """A variable made from a value (an optimizer's ``iterations``, a lookup table) is made
        from its shape and dtype like the others, which Keras refuses inside a stateless scope."""
        if not callable(initializer) and not isinstance(initializer, str):
            value = variable._convert_to_tensor(initializer, dtype=dtype)
            shape, dtype, initializer = tuple(value.shape) if shape is None else shape, dtype or value.dtype, _unset
        create(variable, initializer, shape, dtype, *args, **kwargs)

    before = list(global_state.get_global_attribute("uninitialized_variables", None) or [])
    seeds = global_state.get_global_attribute(_GLOBAL_SEEDS)
    keras_variables.register_uninitialized_variable = register_without_value
    keras_variables.Variable.__init__ = create_from_a_value
    try:
        with StatelessScope(initialize_variables=False):
            yield
    finally:
        keras_variables.register_uninitialized_variable = register
        keras_variables.Variable.__init__ = create
        global_state.set_global_attribute("uninitialized_variables", before)
        if seeds is None:  # made in here, without a value: the next unseeded random op makes a real one
            global_state.set_global_attribute(_GLOBAL_SEEDS, None)
