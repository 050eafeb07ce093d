"""The only package that speaks SQL: pool, migrations, one module per table family."""
