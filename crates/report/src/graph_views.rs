use heaphound_analysis::Analysis;
