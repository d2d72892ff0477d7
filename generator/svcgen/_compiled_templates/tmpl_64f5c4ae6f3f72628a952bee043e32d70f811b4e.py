from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'stubs/route.py.jinja'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_r = resolve('r')
    l_0_imports = resolve('imports')
    l_0_plan = resolve('plan')
    l_0_lay = resolve('lay')
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
    pass
    yield '"""The '
    yield str(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'name'))
    yield ' route (user-owned).\n\nIt serves '
    yield str(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'method'))
    yield ' '
    yield str(t_1(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'path')))
    yield '.\n'
    if environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'description'):
        pass
        yield '\n'
        yield str(t_1(t_3(environment, environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'description'), 84)))
        yield '\n'
    yield '\nsvcgen created this file once; it never overwrites it.\n"""\n\n'
    l_1_sections = (undefined(name='imports') if l_0_imports is missing else l_0_imports)
    pass
    template = environment.get_template('generated/_imports.jinja', 'stubs/route.py.jinja')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {'sections': l_1_sections}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    l_1_sections = missing
    yield '\n\nasync def handle(ctx: Context, request: Request) -> Response:\n'
    if ((environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'publishers') or environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'tasks')) or environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'resources')):
        pass
        yield '    """Answer one request.\n'
        template = environment.get_template('stubs/_ctx_doc.jinja', 'stubs/route.py.jinja')
        gen = template.root_render_func(template.new_context(context.get_all(), True, {}))
        try:
            for event in gen:
                yield event
        finally: gen.close()
        yield '    """\n'
    else:
        pass
        yield '    """Answer one request."""\n'
    yield str(context.call((undefined(name='lay') if l_0_lay is missing else l_0_lay), 'return JSONResponse(', [str_join(('{"route": ', t_2(environment.getattr((undefined(name='r') if l_0_r is missing else l_0_r), 'name')), ', "params": request.path_params}', ))], ')', 4))
    yield '\n'

blocks = {}
debug_info = '1=34&3=36&4=40&6=43&12=48&16=56&18=59&23=69'