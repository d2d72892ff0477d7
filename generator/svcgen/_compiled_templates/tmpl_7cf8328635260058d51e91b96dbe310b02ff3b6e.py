from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'generated/settings.py.jinja'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_plan = resolve('plan')
    try:
        t_1 = environment.filters['doc']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'doc' found.")
    try:
        t_2 = environment.filters['py']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No filter named 'py' found.")
    try:
        t_3 = environment.filters['setting_expr']
    except KeyError:
        @internalcode
        def t_3(*unused):
            raise TemplateRuntimeError("No filter named 'setting_expr' found.")
    try:
        t_4 = environment.filters['shown']
    except KeyError:
        @internalcode
        def t_4(*unused):
            raise TemplateRuntimeError("No filter named 'shown' found.")
    try:
        t_5 = environment.tests['none']
    except KeyError:
        @internalcode
        def t_5(*unused):
            raise TemplateRuntimeError("No test named 'none' found.")
    pass
    template = environment.get_template('generated/_header.jinja', 'generated/settings.py.jinja')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    yield '"""Settings of the service, read from the environment at start-up."""\n\nfrom __future__ import annotations\n\nimport os\nfrom collections.abc import Mapping\nfrom dataclasses import dataclass\n\nfrom svcgen_runtime import ConfigurationError\nfrom svcgen_runtime.overrides import tunings\n\n\n@dataclass(frozen=True, slots=True)\nclass Settings:\n    """Connection URLs, ports and tuning numbers; ``load_settings`` fills them from\n    the environment. A tuning number (a field with a default: service.yaml\'s value)\n    is replaced at start-up by the variable named beside it when that is set: the\n    field\'s name in upper case after ``SVCGEN_``, read by ``svcgen_runtime.overrides``.\n\n    Attributes:\n'
    l_1_loop = missing
    for l_1_s, l_1_loop in LoopContext(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'settings'), undefined):
        _loop_vars = {}
        pass
        yield '        '
        yield str(environment.getattr(l_1_s, 'attr'))
        yield ': '
        yield str(environment.getattr(l_1_s, 'source'))
        def t_6(fiter):
            for l_2_p in fiter:
                if environment.getattr(l_2_p, 'var'):
                    yield l_2_p
        l_2_loop = missing
        for l_2_p, l_2_loop in LoopContext(t_6(environment.getattr(l_1_s, 'parts')), undefined):
            _loop_vars = {}
            pass
            if environment.getattr(l_2_loop, 'first'):
                pass
                yield ', from'
            yield ' $'
            yield str(environment.getattr(l_2_p, 'var'))
            if (not t_5(environment.getattr(l_2_p, 'default'))):
                pass
                yield ' (default '
                yield str(t_1(environment.getattr(l_2_p, 'default')))
                yield ')'
        l_2_loop = l_2_p = missing
        yield '.\n'
    l_1_loop = l_1_s = missing
    for l_1_t in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'tunings'):
        _loop_vars = {}
        pass
        yield '        '
        yield str(environment.getattr(l_1_t, 'attr'))
        yield ': '
        yield str(environment.getattr(l_1_t, 'source'))
        yield ', from $'
        yield str(environment.getattr(l_1_t, 'var'))
        yield ' (default '
        yield str(t_4(l_1_t))
        yield ').\n'
    l_1_t = missing
    yield '    """\n\n'
    for l_1_s in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'settings'):
        _loop_vars = {}
        pass
        yield '    '
        yield str(environment.getattr(l_1_s, 'attr'))
        yield ': '
        yield str(environment.getattr(l_1_s, 'annotation'))
        yield '\n'
    l_1_s = missing
    for l_1_t in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'tunings'):
        _loop_vars = {}
        pass
        yield '    '
        yield str(environment.getattr(l_1_t, 'attr'))
        yield ': '
        yield str(environment.getattr(l_1_t, 'annotation'))
        yield ' = '
        yield str(t_2(environment.getattr(l_1_t, 'default')))
        yield '\n'
    l_1_t = missing
    yield '\n\ndef load_settings(environ: Mapping[str, str] | None = None) -> Settings:\n    """Read the settings from ``environ`` (default: the process environment)."""\n    env = os.environ if environ is None else environ\n    return Settings(\n'
    for l_1_s in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'settings'):
        l_1_lay_out = resolve('lay_out')
        _loop_vars = {}
        pass
        yield str(context.call((undefined(name='lay_out') if l_1_lay_out is missing else l_1_lay_out), t_3(l_1_s), 8, ',', _loop_vars=_loop_vars))
        yield '\n'
    l_1_s = l_1_lay_out = missing
    yield '        **tunings(Settings, env),\n    )\n\n\ndef _env(\n    env: Mapping[str, str], name: str, *, default: str | None, needed_by: str\n) -> str:\n    """``${name:-default}`` (unset or empty gives the default), or ``${name}``."""\n    value = env.get(name)\n    if default is not None:\n        return value or default\n    if value is None:\n        raise ConfigurationError(\n            f"the environment variable {name} is not set: {needed_by} needs it, so "\n            f"set {name} or give a default in service.yaml with ${{{name}:-...}}"\n        )\n    return value\n\n\ndef _port(value: str, *, needed_by: str) -> int:\n    """A TCP port number; a clear error when it is not one."""\n    try:\n        port = int(value)\n    except ValueError:\n        port = -1\n    if not 0 <= port <= 65535:\n        raise ConfigurationError(\n            f"{needed_by} is {value!r}, which is not a port number: set it to an "\n            "integer from 0 to 65535"\n        )\n    return port\n'

blocks = {}
debug_info = '1=42&22=50&23=54&25=78&26=82&30=92&31=96&33=101&34=105&42=113&43=117'