namespace Contiv.NetCtl;

/// <summary>
/// The scripts printed by <c>netctl completion SHELL</c>. Each asks netctl itself for candidates
/// through System.CommandLine's <c>[suggest:POSITION]</c> directive with the command line up to the
/// cursor, so the completions (subcommands, options, fixed values, and tenant, network and host
/// names read from netmaster) always match the installed netctl.
/// </summary>
public static class ShellCompletion
{
    public static IReadOnlyList<string> Shells { get; } = ["bash", "zsh"];

    /// <summary>
    /// bash: the line comes from COMP_LINE/COMP_POINT when bash sets them (they keep words such as
    /// URLs whole, where COMP_WORDS splits at ':' and '='), else from COMP_WORDS. Candidates are
    /// filtered by plain prefix comparison, never through <c>compgen -W</c>, which would expand
    /// <c>$(...)</c> in a name served by netmaster.
    /// </summary>
    public const string Bash = """
        # bash completion for netctl (ContivDocker). Load it in the current shell with
        #   source <(netctl completion bash)
        # or for every shell: netctl completion bash > /etc/bash_completion.d/netctl
        _netctl_complete()
        {
            local cur="${COMP_WORDS[COMP_CWORD]}" line
            if [[ -n "${COMP_LINE+set}" && -n "${COMP_POINT+set}" ]]; then
                line="${COMP_LINE:0:COMP_POINT}"
            else
                line="${COMP_WORDS[*]:0:COMP_CWORD+1}"
            fi
            local candidates candidate
            candidates=$("${COMP_WORDS[0]:-netctl}" "[suggest:${#line}]" "$line" 2>/dev/null) || return 0
            COMPREPLY=()
            while IFS= read -r candidate; do
                if [[ -n "$candidate" && "$candidate" == "$cur"* ]]; then
                    COMPREPLY+=("$candidate")
                fi
            done <<< "$candidates"
        }
        complete -o default -F _netctl_complete netctl

        """;

    /// <summary>zsh (after compinit): the words up to the cursor; compadd filters by the current prefix.</summary>
    public const string Zsh = """
        #compdef netctl
        # zsh completion for netctl (ContivDocker). Load it (after compinit) with
        #   source <(netctl completion zsh)
        _netctl() {
            local line="${(j: :)words[1,CURRENT]}"
            local -a candidates
            candidates=("${(@f)$("${words[1]}" "[suggest:${#line}]" "$line" 2>/dev/null)}")
            candidates=(${candidates:#})
            compadd -- "${candidates[@]}"
        }
        compdef _netctl netctl

        """;

    /// <summary>The script for <paramref name="shell"/> (one of <see cref="Shells"/>).</summary>
    public static string For(string shell) => shell switch
    {
        "bash" => Bash,
        "zsh" => Zsh,
        _ => throw new NetCtlException($"no completion script for shell {shell}: expected one of {string.Join(", ", Shells)}"),
    };
}
