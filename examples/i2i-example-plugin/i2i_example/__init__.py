"""An example i2i plugin. Registering stays light: the network module is named as a lazy string."""

from i2i.api import Recipe, Task, hookimpl


@hookimpl
def register_generators(register):
    register("tinyres", "i2i_example.tinyres:TinyResGenerator",
             description="A small residual generator (example plugin)")


@hookimpl
def register_tasks(register):
    register(
        "deblur",
        Task(
            name="deblur",
            description="Blurred photo -> sharp photo, pairs made from any folder of photos (example plugin)",
            layout="photos",
            pair_maker="i2i_example.deblur:blur_pair",
            generator="tinyres",
            recipe=Recipe(epochs=5, epochs_decay=5, load_size=72, crop_size=64),
        ),
        aliases=("blur2sharp",),
    )
