import awaitq
from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "sensor_st",
            sources=["src/sensor.c"],
            include_dirs=[awaitq.get_include()],
            define_macros=[("SENSOR_NAME", "sensor_st")],
            extra_compile_args=["-Wall", "-Werror", "-pthread"],
            extra_link_args=["-pthread"],
        )
    ]
)
