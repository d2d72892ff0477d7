from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'generated/_imports.jinja'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_sections = resolve('sections')
    try:
        t_1 = environment.filters['import_line']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'import_line' found.")
    pass
    l_1_loop = missing
    for l_1_section, l_1_loop in LoopContext((undefined(name='sections') if l_0_sections is missing else l_0_sections), undefined):
        _loop_vars = {}
        pass
        if (not environment.getattr(l_1_loop, 'first')):
            pass
            yield '\n'
        for l_2_line in l_1_section:
            _loop_vars = {}
            pass
            yield str(t_1(l_2_line))
            yield '\n'
        l_2_line = missing
    l_1_loop = l_1_section = missing

blocks = {}
debug_info = '1=19&2=22&5=25&6=28'