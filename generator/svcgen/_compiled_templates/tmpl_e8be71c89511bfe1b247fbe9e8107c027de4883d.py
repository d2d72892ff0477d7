from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'stubs/task.py.jinja'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_t = resolve('t')
    l_0_per_replica = resolve('per_replica')
    l_0_imports = resolve('imports')
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
    yield str(environment.getattr((undefined(name='t') if l_0_t is missing else l_0_t), 'name'))
    yield ' task (user-owned).\n\n'
    yield str(t_3(environment, str_join(('It runs each task enqueued on ', environment.getattr((undefined(name='t') if l_0_t is missing else l_0_t), 'queue'), ' on the ', environment.getattr((undefined(name='t') if l_0_t is missing else l_0_t), 'broker'), ' broker (arguments: ', (environment.getitem(environment.getattr((undefined(name='t') if l_0_t is missing else l_0_t), 'args_import'), 1) if environment.getattr((undefined(name='t') if l_0_t is missing else l_0_t), 'args_import') else 'bytes'), '); enqueue with ``await ctx.tasks.', environment.getattr((undefined(name='t') if l_0_t is missing else l_0_t), 'name'), '.enqueue(args, delay=..., key=...)``.', )), 84))
    yield '\n\n'
    if environment.getattr((undefined(name='t') if l_0_t is missing else l_0_t), 'description'):
        pass
        yield str(t_1(t_3(environment, environment.getattr((undefined(name='t') if l_0_t is missing else l_0_t), 'description'), 84)))
        yield '\n\n'
    if environment.getattr((undefined(name='t') if l_0_t is missing else l_0_t), 'guarded'):
        pass
        yield 'A schedule enqueues it too; a fire is skipped while the previous fire still runs.\n\n'
    if (undefined(name='per_replica') if l_0_per_replica is missing else l_0_per_replica):
        pass
        yield str(t_3(environment, str_join(('Its idempotency keys are kept per replica (its broker is ', environment.getattr((undefined(name='t') if l_0_t is missing else l_0_t), 'broker_kind'), ' and the service has neither a redis cache nor a postgres database): with several replicas, a repeated ``key=`` is dropped only by the replica that saw it first.', )), 84))
        yield '\n\n'
    yield 'svcgen created this file once; it never overwrites it.\n"""\n\n'
    l_1_sections = (undefined(name='imports') if l_0_imports is missing else l_0_imports)
    pass
    template = environment.get_template('generated/_imports.jinja', 'stubs/task.py.jinja')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {'sections': l_1_sections}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    l_1_sections = missing
    yield '\n\n'
    yield str(context.call((undefined(name='lay') if l_0_lay is missing else l_0_lay), 'async def handle(', ['ctx: Context', str_join(('args: ', (environment.getitem(environment.getattr((undefined(name='t') if l_0_t is missing else l_0_t), 'args_import'), 1) if environment.getattr((undefined(name='t') if l_0_t is missing else l_0_t), 'args_import') else 'bytes'), )), 'raw: InboundMessage'], ') -> Outcome | None:', lone_comma=True))
    yield '\n    """Run the task once.\n\n    Return ``None`` or ``Ack()`` when done, or ``Retry(after=seconds)`` to run it\n    again later. An exception, or a run longer than '
    yield str(t_2(environment.getattr((undefined(name='t') if l_0_t is missing else l_0_t), 'timeout')))
    yield ' seconds, retries\n    it with backoff; after the last attempt it is dead-lettered.\n    ``raw.delivery_count`` is 1 on the first run.\n'
    template = environment.get_template('stubs/_ctx_doc.jinja', 'stubs/task.py.jinja')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    yield '    """\n    return Ack()\n'

blocks = {}
debug_info = '1=34&3=36&5=38&6=40&9=42&13=45&14=47&20=52&23=60&27=62&30=64'