from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'stubs/handler.py.jinja'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_c = resolve('c')
    l_0_imports = resolve('imports')
    l_0_lay = resolve('lay')
    try:
        t_1 = environment.filters['doc']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'doc' found.")
    try:
        t_2 = environment.filters['duration']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No filter named 'duration' found.")
    try:
        t_3 = environment.filters['wordwrap']
    except KeyError:
        @internalcode
        def t_3(*unused):
            raise TemplateRuntimeError("No filter named 'wordwrap' found.")
    pass
    yield '"""The '
    yield str(environment.getattr((undefined(name='c') if l_0_c is missing else l_0_c), 'name'))
    yield ' handler (user-owned).\n\nIt receives '
    yield str((environment.getattr((undefined(name='c') if l_0_c is missing else l_0_c), 'message') or 'bytes'))
    yield ' from '
    yield str(environment.getattr((undefined(name='c') if l_0_c is missing else l_0_c), 'source'))
    yield ' on the '
    yield str(environment.getattr((undefined(name='c') if l_0_c is missing else l_0_c), 'broker'))
    yield ' broker.\n'
    if environment.getattr((undefined(name='c') if l_0_c is missing else l_0_c), 'description'):
        pass
        yield '\n'
        yield str(t_1(t_3(environment, environment.getattr((undefined(name='c') if l_0_c is missing else l_0_c), 'description'), 84)))
        yield '\n'
    if environment.getattr((undefined(name='c') if l_0_c is missing else l_0_c), 'dedupe'):
        pass
        yield '\n'
        yield str(t_3(environment, str_join(('It dedupes on ', environment.getattr(environment.getattr((undefined(name='c') if l_0_c is missing else l_0_c), 'dedupe'), 'key'), ': a message whose key was handled in the last ', t_2(environment.getattr(environment.getattr((undefined(name='c') if l_0_c is missing else l_0_c), 'dedupe'), 'window')), " is acked without running handle(). handle() runs in one database transaction with the key's record: ctx.database calls and outbox publishes join it, and an exception rolls all of it back.", )), 84))
        yield '\n'
    yield '\nsvcgen created this file once; it never overwrites it.\n"""\n\n'
    l_1_sections = (undefined(name='imports') if l_0_imports is missing else l_0_imports)
    pass
    template = environment.get_template('generated/_imports.jinja', 'stubs/handler.py.jinja')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {'sections': l_1_sections}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    l_1_sections = missing
    yield '\n\n'
    yield str(context.call((undefined(name='lay') if l_0_lay is missing else l_0_lay), 'async def handle(', ['ctx: Context', str_join(('message: ', (environment.getitem(environment.getattr((undefined(name='c') if l_0_c is missing else l_0_c), 'message_import'), 1) if environment.getattr((undefined(name='c') if l_0_c is missing else l_0_c), 'message_import') else 'bytes'), )), 'raw: InboundMessage'], ') -> Outcome | None:', lone_comma=True))
    yield '\n    """Handle one message.\n\n    Return ``None`` or ``Ack()`` when done, ``Nack(requeue=...)`` to refuse it, or\n    ``Retry(after=seconds)`` to see it again later. An exception or a timeout\n    retries it with backoff; after the last attempt it is dead-lettered.\n'
    template = environment.get_template('stubs/_ctx_doc.jinja', 'stubs/handler.py.jinja')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    yield '    """\n    return Ack()\n'

blocks = {}
debug_info = '1=33&3=35&4=41&6=44&8=46&10=49&16=54&19=62&25=64'