from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'generated/settings.py.jinja'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_plan = resolve('plan')
    l_0_retries = l_0_readers = missing
    try:
        t_1 = environment.filters['doc']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'doc' found.")
    try:
        t_2 = environment.filters['join']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No filter named 'join' found.")
    try:
        t_3 = environment.filters['list']
    except KeyError:
        @internalcode
        def t_3(*unused):
            raise TemplateRuntimeError("No filter named 'list' found.")
    try:
        t_4 = environment.filters['map']
    except KeyError:
        @internalcode
        def t_4(*unused):
            raise TemplateRuntimeError("No filter named 'map' found.")
    try:
        t_5 = environment.filters['py']
    except KeyError:
        @internalcode
        def t_5(*unused):
            raise TemplateRuntimeError("No filter named 'py' found.")
    try:
        t_6 = environment.filters['setting_expr']
    except KeyError:
        @internalcode
        def t_6(*unused):
            raise TemplateRuntimeError("No filter named 'setting_expr' found.")
    try:
        t_7 = environment.filters['shown']
    except KeyError:
        @internalcode
        def t_7(*unused):
            raise TemplateRuntimeError("No filter named 'shown' found.")
    try:
        t_8 = environment.filters['sort']
    except KeyError:
        @internalcode
        def t_8(*unused):
            raise TemplateRuntimeError("No filter named 'sort' found.")
    try:
        t_9 = environment.filters['tuning_expr']
    except KeyError:
        @internalcode
        def t_9(*unused):
            raise TemplateRuntimeError("No filter named 'tuning_expr' found.")
    try:
        t_10 = environment.filters['unique']
    except KeyError:
        @internalcode
        def t_10(*unused):
            raise TemplateRuntimeError("No filter named 'unique' found.")
    try:
        t_11 = environment.filters['upper']
    except KeyError:
        @internalcode
        def t_11(*unused):
            raise TemplateRuntimeError("No filter named 'upper' found.")
    try:
        t_12 = environment.tests['none']
    except KeyError:
        @internalcode
        def t_12(*unused):
            raise TemplateRuntimeError("No test named 'none' found.")
    pass
    template = environment.get_template('generated/_header.jinja', 'generated/settings.py.jinja')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {'readers': l_0_readers, 'retries': l_0_retries}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    yield '"""Settings of the service, read from the environment at start-up."""\n\nfrom __future__ import annotations\n\nimport os\nfrom collections.abc import Mapping\nfrom dataclasses import dataclass\n\nfrom svcgen_runtime import ConfigurationError\n'
    l_0_retries = environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'retried')
    context.vars['retries'] = l_0_retries
    context.exported_vars.add('retries')
    l_0_readers = t_3(context.eval_ctx, t_4(context, environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'tunings'), attribute='reader'))
    context.vars['readers'] = l_0_readers
    context.exported_vars.add('readers')
    yield 'from svcgen_runtime.overrides import '
    yield str(t_2(context.eval_ctx, t_8(environment, ((['check_retry'] if (undefined(name='retries') if l_0_retries is missing else l_0_retries) else []) + t_3(context.eval_ctx, t_10(environment, (undefined(name='readers') if l_0_readers is missing else l_0_readers))))), ', '))
    yield '\n\n\n@dataclass(frozen=True, slots=True)\nclass Settings:\n    """Connection URLs, ports and tuning numbers; ``load_settings`` fills them from\n    the environment. Each tuning number is service.yaml\'s value unless the variable\n    named beside it is set (``SVCGEN_`` and the attribute\'s name in upper case).\n\n    Attributes:\n'
    l_1_loop = missing
    for l_1_s, l_1_loop in LoopContext(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'settings'), undefined):
        _loop_vars = {}
        pass
        yield '        '
        yield str(environment.getattr(l_1_s, 'attr'))
        yield ': '
        yield str(environment.getattr(l_1_s, 'source'))
        def t_13(fiter):
            for l_2_p in fiter:
                if environment.getattr(l_2_p, 'var'):
                    yield l_2_p
        l_2_loop = missing
        for l_2_p, l_2_loop in LoopContext(t_13(environment.getattr(l_1_s, 'parts')), undefined):
            _loop_vars = {}
            pass
            if environment.getattr(l_2_loop, 'first'):
                pass
                yield ', from'
            yield ' $'
            yield str(environment.getattr(l_2_p, 'var'))
            if (not t_12(environment.getattr(l_2_p, 'default'))):
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
        yield str(t_7(l_1_t))
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
        yield str(t_5(environment.getattr(l_1_t, 'default')))
        yield '\n'
    l_1_t = missing
    yield '\n\ndef load_settings(environ: Mapping[str, str] | None = None) -> Settings:\n    """Read the settings from ``environ`` (default: the process environment)."""\n    env = os.environ if environ is None else environ\n    settings = Settings(\n'
    for l_1_s in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'settings'):
        l_1_lay_out = resolve('lay_out')
        _loop_vars = {}
        pass
        yield str(context.call((undefined(name='lay_out') if l_1_lay_out is missing else l_1_lay_out), t_6(l_1_s), 8, ',', _loop_vars=_loop_vars))
        yield '\n'
    l_1_s = l_1_lay_out = missing
    for l_1_t in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'tunings'):
        l_1_lay_out = resolve('lay_out')
        _loop_vars = {}
        pass
        yield str(context.call((undefined(name='lay_out') if l_1_lay_out is missing else l_1_lay_out), t_9(l_1_t), 8, ',', _loop_vars=_loop_vars))
        yield '\n'
    l_1_t = l_1_lay_out = missing
    yield '    )\n'
    for l_1_at in (undefined(name='retries') if l_0_retries is missing else l_0_retries):
        l_1_lay = resolve('lay')
        _loop_vars = {}
        pass
        yield str(context.call((undefined(name='lay') if l_1_lay is missing else l_1_lay), 'check_retry(', [str_join(('settings.', l_1_at, '_retry_initial', )), str_join(('settings.', l_1_at, '_retry_max', )), t_5(str_join(('SVCGEN_', t_11(l_1_at), '_RETRY', )))], ')', 4, _loop_vars=_loop_vars))
        yield '\n'
    l_1_at = l_1_lay = missing
    yield '    return settings\n\n\ndef _env(\n    env: Mapping[str, str], name: str, *, default: str | None, needed_by: str\n) -> str:\n    """``${name:-default}`` (unset or empty gives the default), or ``${name}``."""\n    value = env.get(name)\n    if default is not None:\n        return value or default\n    if value is None:\n        raise ConfigurationError(\n            f"the environment variable {name} is not set: {needed_by} needs it, so "\n            f"set {name} or give a default in service.yaml with ${{{name}:-...}}"\n        )\n    return value\n\n\ndef _port(value: str, *, needed_by: str) -> int:\n    """A TCP port number; a clear error when it is not one."""\n    try:\n        port = int(value)\n    except ValueError:\n        port = -1\n    if not 0 <= port <= 65535:\n        raise ConfigurationError(\n            f"{needed_by} is {value!r}, which is not a port number: set it to an "\n            "integer from 0 to 65535"\n        )\n    return port\n'

blocks = {}
debug_info = '1=85&11=92&12=95&13=99&23=102&24=106&26=130&27=134&31=144&32=148&34=153&35=157&43=165&44=169&46=172&47=176&50=180&51=184'