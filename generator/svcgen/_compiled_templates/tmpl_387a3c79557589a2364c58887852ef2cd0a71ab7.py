from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'stubs/_ctx_doc.jinja'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_plan = resolve('plan')
    pass
    if environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'publishers'):
        pass
        yield '\n    Publishers on ``ctx``:\n'
        for l_1_p in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'publishers'):
            _loop_vars = {}
            pass
            yield '    - ``await ctx.'
            yield str(environment.getattr(l_1_p, 'name'))
            yield '.publish(...)`` sends '
            yield str((environment.getattr(l_1_p, 'message') or 'bytes'))
            yield ' to '
            yield str(environment.getattr(l_1_p, 'target'))
            yield '.\n'
            if environment.getattr(l_1_p, 'outbox'):
                pass
                yield '      Outbox: written in the current database transaction (if any), sent after commit.\n'
        l_1_p = missing
    if environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'tasks'):
        pass
        yield '\n    Tasks on ``ctx.tasks`` (``delay=`` seconds, ``key=`` runs a key once):\n'
        for l_1_t in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'tasks'):
            _loop_vars = {}
            pass
            yield '    - ``await ctx.tasks.'
            yield str(environment.getattr(l_1_t, 'name'))
            yield '.enqueue('
            yield str(((environment.getitem(environment.getattr(l_1_t, 'args_import'), 1) + '(...)') if environment.getattr(l_1_t, 'args_import') else "b'...'"))
            yield ')``\n'
        l_1_t = missing
    if environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'resources'):
        pass
        yield '\n    Resources: '
        l_1_loop = missing
        for l_1_r, l_1_loop in LoopContext(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'resources'), undefined):
            _loop_vars = {}
            pass
            yield '``ctx.'
            yield str(environment.getattr(l_1_r, 'attr'))
            yield '`` ('
            yield str(environment.getattr(l_1_r, 'kind'))
            yield ')'
            if (not environment.getattr(l_1_loop, 'last')):
                pass
                yield ', '
        l_1_loop = l_1_r = missing
        yield '.\n'

blocks = {}
debug_info = '1=12&4=15&5=19&6=25&11=29&14=32&15=36&18=41&20=45'