from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'stubs/schedule.py.jinja'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_sc = resolve('sc')
    l_0_imports = resolve('imports')
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
        t_3 = environment.filters['wordwrap']
    except KeyError:
        @internalcode
        def t_3(*unused):
            raise TemplateRuntimeError("No filter named 'wordwrap' found.")
    try:
        t_4 = environment.tests['none']
    except KeyError:
        @internalcode
        def t_4(*unused):
            raise TemplateRuntimeError("No test named 'none' found.")
    pass
    yield '"""The '
    yield str(environment.getattr((undefined(name='sc') if l_0_sc is missing else l_0_sc), 'name'))
    yield ' schedule (user-owned).\n\n'
    if (not t_4(environment.getattr((undefined(name='sc') if l_0_sc is missing else l_0_sc), 'cron'))):
        pass
        yield 'At each fire time of the cron expression '
        yield str(t_1(environment.getattr((undefined(name='sc') if l_0_sc is missing else l_0_sc), 'cron')))
        yield ' ('
        yield str(t_1(environment.getattr((undefined(name='sc') if l_0_sc is missing else l_0_sc), 'timezone')))
        yield '), it enqueues\n'
    else:
        pass
        yield 'Every '
        yield str(t_2(environment.getattr((undefined(name='sc') if l_0_sc is missing else l_0_sc), 'every')))
        yield ' seconds, it enqueues\n'
    yield 'the '
    yield str(environment.getattr((undefined(name='sc') if l_0_sc is missing else l_0_sc), 'task'))
    yield ' task once, however many replicas run, with the arguments ``args``\nreturns.\n'
    if environment.getattr((undefined(name='sc') if l_0_sc is missing else l_0_sc), 'description'):
        pass
        yield '\n'
        yield str(t_1(t_3(environment, environment.getattr((undefined(name='sc') if l_0_sc is missing else l_0_sc), 'description'), 84)))
        yield '\n'
    yield '\nsvcgen created this file once; it never overwrites it.\n"""\n\n'
    l_1_sections = (undefined(name='imports') if l_0_imports is missing else l_0_imports)
    pass
    template = environment.get_template('generated/_imports.jinja', 'stubs/schedule.py.jinja')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {'sections': l_1_sections}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    l_1_sections = missing
    yield '\n\ndef args(fire_time: datetime) -> '
    yield str((environment.getitem(environment.getattr((undefined(name='sc') if l_0_sc is missing else l_0_sc), 'args_import'), 1) if environment.getattr((undefined(name='sc') if l_0_sc is missing else l_0_sc), 'args_import') else 'bytes'))
    yield ':\n    """The '
    yield str(environment.getattr((undefined(name='sc') if l_0_sc is missing else l_0_sc), 'task'))
    yield " task's arguments for the fire at ``fire_time`` ("
    yield str(t_1(environment.getattr((undefined(name='sc') if l_0_sc is missing else l_0_sc), 'timezone')))
    yield ')."""\n'
    if environment.getattr((undefined(name='sc') if l_0_sc is missing else l_0_sc), 'args_import'):
        pass
        yield '    return '
        yield str(environment.getitem(environment.getattr((undefined(name='sc') if l_0_sc is missing else l_0_sc), 'args_import'), 1))
        yield '()\n'
    else:
        pass
        yield '    return fire_time.isoformat().encode()\n'

blocks = {}
debug_info = '1=38&3=40&4=43&6=50&8=53&10=55&12=58&18=63&21=71&22=73&23=77&24=80'