from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'generated/context.py.jinja'

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
    pass
    template = environment.get_template('generated/_header.jinja', 'generated/context.py.jinja')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    yield '"""The context every handler, route and task of the service receives."""\n\n'
    l_1_sections = environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'context_imports')
    pass
    template = environment.get_template('generated/_imports.jinja', 'generated/context.py.jinja')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {'sections': l_1_sections}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    l_1_sections = missing
    if environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'tasks'):
        pass
        yield '\n\n@dataclass(frozen=True, slots=True)\nclass Tasks:\n    """The task queues: ``await ctx.tasks.<name>.enqueue(args, delay=..., key=...)``.\n\n    Attributes:\n'
        for l_1_t in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'tasks'):
            _loop_vars = {}
            pass
            yield '        '
            yield str(environment.getattr(l_1_t, 'name'))
            yield ': enqueues '
            yield str((environment.getattr(l_1_t, 'args') or 'bytes'))
            yield ' on '
            yield str(environment.getattr(l_1_t, 'queue'))
            yield ' on the '
            yield str(environment.getattr(l_1_t, 'broker'))
            yield ' broker.'
            if environment.getattr(l_1_t, 'description'):
                pass
                yield ' '
                yield str(t_1(environment.getattr(l_1_t, 'description')))
            yield '\n'
        l_1_t = missing
        yield '    """\n\n'
        for l_1_t in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'tasks'):
            _loop_vars = {}
            pass
            yield '    '
            yield str(environment.getattr(l_1_t, 'name'))
            yield ': Task['
            yield str((environment.getattr(l_1_t, 'args') or 'bytes'))
            yield ']\n'
        l_1_t = missing
    yield '\n\n@dataclass(frozen=True, slots=True)\nclass Context:\n    """What handlers, routes and tasks may use, built once by ``build_app``.'
    if (not ((environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'publishers') or environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'tasks')) or environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'resources'))):
        pass
        yield '"""'
    yield '\n'
    if ((environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'publishers') or environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'tasks')) or environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'resources')):
        pass
        yield '\n    Attributes:\n'
        for l_1_p in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'publishers'):
            _loop_vars = {}
            pass
            yield '        '
            yield str(environment.getattr(l_1_p, 'name'))
            yield ': publishes '
            yield str((environment.getattr(l_1_p, 'message') or 'bytes'))
            yield ' to '
            yield str(environment.getattr(l_1_p, 'target'))
            yield ' on the '
            yield str(environment.getattr(l_1_p, 'broker'))
            yield ' broker.'
            if environment.getattr(l_1_p, 'description'):
                pass
                yield ' '
                yield str(t_1(environment.getattr(l_1_p, 'description')))
            yield '\n'
        l_1_p = missing
        if environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'tasks'):
            pass
            yield '        tasks: the task queues, to enqueue work.\n'
        for l_1_r in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'resources'):
            _loop_vars = {}
            pass
            yield '        '
            yield str(environment.getattr(l_1_r, 'attr'))
            yield ': the '
            yield str(environment.getattr(l_1_r, 'kind'))
            yield ' '
            yield str(environment.getattr(l_1_r, 'attr'))
            yield '.\n'
        l_1_r = missing
        yield '    """\n\n'
    for l_1_p in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'publishers'):
        _loop_vars = {}
        pass
        yield '    '
        yield str(environment.getattr(l_1_p, 'name'))
        yield ': Publisher['
        yield str((environment.getattr(l_1_p, 'message') or 'bytes'))
        yield ']\n'
    l_1_p = missing
    if environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'tasks'):
        pass
        yield '    tasks: Tasks\n'
    for l_1_r in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'resources'):
        _loop_vars = {}
        pass
        yield '    '
        yield str(environment.getattr(l_1_r, 'attr'))
        yield ': '
        yield str(environment.getattr(l_1_r, 'protocol'))
        yield '\n'
    l_1_r = missing

blocks = {}
debug_info = '1=18&4=27&5=34&13=37&14=41&19=56&20=60&27=66&29=70&32=73&33=77&36=91&39=94&40=98&45=106&46=110&48=115&51=118&52=122'