from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'stubs/functions.py.jinja'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_plan = resolve('plan')
    l_0_imports = resolve('imports')
    l_0_functions = resolve('functions')
    pass
    yield '"""Hooks and middleware of the '
    yield str(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'service'))
    yield ' service (user-owned).\n\nservice.yaml lists them (hooks, middleware); app.py imports and wires each one.\nsvcgen created this file once; it never overwrites it.\n"""\n\n'
    l_1_sections = (undefined(name='imports') if l_0_imports is missing else l_0_imports)
    pass
    template = environment.get_template('generated/_imports.jinja', 'stubs/functions.py.jinja')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {'sections': l_1_sections}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    l_1_sections = missing
    for l_1_f in (undefined(name='functions') if l_0_functions is missing else l_0_functions):
        l_1_lay = resolve('lay')
        _loop_vars = {}
        pass
        yield '\n\n'
        if (environment.getattr(l_1_f, 'role') == 'hook'):
            pass
            yield 'async def '
            yield str(environment.getattr(l_1_f, 'name'))
            yield '(ctx: Context) -> None:\n    """Run once per process: an on_start hook after the resources open and the\n    brokers connect, before any message or request; an on_stop hook after the drain,\n    before they close. An exception in an on_start hook stops the start."""\n'
        elif (environment.getattr(l_1_f, 'role') == 'consumer'):
            pass
            yield str(context.call((undefined(name='lay') if l_1_lay is missing else l_1_lay), str_join(('async def ', environment.getattr(l_1_f, 'name'), '(', )), ['received: Received[Any]', 'ctx: Context', 'call_next: Next'], ') -> Outcome:', lone_comma=True, _loop_vars=_loop_vars))
            yield '\n    """Run around a consumer\'s handler: ``received`` has the ``payload``, the raw\n    ``message`` (id, headers), the ``consumer`` and the ``attempt``.\n\n    ``call_next(received)`` runs the rest of the chain and returns its outcome\n    (``Ack()`` when the handler returned None); return it or another one. An\n    exception here is the handler\'s: retried, then dead-lettered.\n    """\n    return await call_next(received)\n'
        else:
            pass
            yield str(context.call((undefined(name='lay') if l_1_lay is missing else l_1_lay), str_join(('async def ', environment.getattr(l_1_f, 'name'), '(', )), ['request: Request', 'ctx: Context', 'call_next: Endpoint'], ') -> Response:', lone_comma=True, _loop_vars=_loop_vars))
            yield '\n    """Run around every route: ``call_next(request)`` runs the rest of the chain and\n    returns the route\'s response; return it or another one. An exception here is\n    a 500, as in a route."""\n    return await call_next(request)\n'
    l_1_f = l_1_lay = missing

blocks = {}
debug_info = '1=15&7=19&8=26&11=31&12=34&16=36&17=38&27=42'