"""Who works where and what they may see and do: accounts and tokens (`users`, `user_import`,
`apikeys`), the units, rosters and calendar edited in the app (`catalog_edits`), every role and scope
rule (`permissions`) and sensitive events' privacy (`privacy`)."""
